# UniMatch, UniMatch Table 3: 1/2 of the 2975 Cityscapes training images
# labelled (python tools/make_splits.py ratio --dataset cityscapes
# --ratio 1/2).
_base_ = ['./unimatch_deeplabv3plus-r101-d8_1xb2-40k_cityscapes-1of16.py']
split = '1of2'
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.labelled_dataset, ann_file=f'splits/labelled-{split}.txt'),
        dict(
            _base_.unlabelled_dataset,
            ann_file=f'splits/unlabelled-{split}.txt'),
    ]))
