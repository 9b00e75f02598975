# Supervised baseline, ReCo Table 1 ("all labels"): SUN RGB-D, all 9860
# labelled images
# (no split file; ann_file 'splits/train.txt' is the full training list).
_base_ = ['./supervised_deeplabv3plus-r101-d8_1xb10-40k_sunrgbd-50lab.py']
train_dataloader = dict(dataset=dict(ann_file='splits/train.txt'))
