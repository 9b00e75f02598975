# Supervised baseline, ReCo Table 1 ("all labels"): Cityscapes, all 2975
# labelled images
# (no split file; ann_file '' is the full training list).
_base_ = ['./supervised_deeplabv3plus-r101-d8_1xb4-40k_cityscapes-20lab.py']
train_dataloader = dict(dataset=dict(ann_file=''))
