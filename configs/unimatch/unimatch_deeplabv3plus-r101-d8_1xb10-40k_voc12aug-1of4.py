# UniMatch, blended protocol: 1/4 of the 10582 VOC 2012 + SBD training
# images labelled (python tools/make_splits.py ratio --dataset voc12aug
# --ratio 1/4).
_base_ = ['./unimatch_deeplabv3plus-r101-d8_1xb10-40k_voc12aug-1of16.py']
split = '1of4'
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.labelled_dataset, ann_file=f'splits/labelled-{split}.txt'),
        dict(
            _base_.unlabelled_dataset,
            ann_file=f'splits/unlabelled-{split}.txt'),
    ]))
