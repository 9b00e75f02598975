# As ./cmb_deeplabv3plus-r50-d8_1xb7-80k_cityscapes-1of30.py with 1/8 of the
# Cityscapes train images labelled (python tools/make_splits.py ratio
# --dataset cityscapes --data-root data/cityscapes --ratio 1/8);
# supplement Table 1: 70.0 mIoU.
_base_ = ['./cmb_deeplabv3plus-r50-d8_1xb7-80k_cityscapes-1of30.py']
split = '1of8'
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.labelled_dataset, ann_file=f'splits/labelled-{split}.txt'),
        dict(
            _base_.unlabelled_dataset,
            ann_file=f'splits/unlabelled-{split}.txt'),
    ]))
