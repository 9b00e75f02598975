# Supervised baseline, ReCo Table 1 ("all labels"): Pascal VOC 2012 + SBD, all
# 10582 labelled images
# (no split file; ann_file 'ImageSets/Segmentation/train_aug.txt' is the full
# training list).
_base_ = ['./supervised_deeplabv3plus-r101-d8_1xb20-40k_voc12aug-60lab.py']
train_dataloader = dict(
    dataset=dict(ann_file='ImageSets/Segmentation/train_aug.txt'))
