# Supervised baseline (labelled images only, doubled labelled batch), ReCo Table 1: Cityscapes, 50 class-balanced
# labelled images (python tools/make_splits.py class-balanced
# --dataset cityscapes --num-labelled 50).
_base_ = ['./supervised_deeplabv3plus-r101-d8_1xb4-40k_cityscapes-20lab.py']
split = '50'
train_dataloader = dict(
    dataset=dict(ann_file=f'splits/labelled-{split}.txt'))
