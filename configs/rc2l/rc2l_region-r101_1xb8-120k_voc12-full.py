# RC2L (Zhang et al., IJCAI 2022, Tables 1-2): 1.4k (1464) with the 9k rest unlabelled labelled images;
# split files from: python tools/make_splits.py voc1464 --all
_base_ = ['./rc2l_region-r101_1xb8-120k_voc12-1of16.py']
split = 'voc1464-all'
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(
            _base_.labelled_dataset,
            ann_file=f'splits/labelled-{split}.txt',
            pipeline=_base_.labelled_pipeline),
        dict(
            _base_.unlabelled_dataset,
            ann_file=f'splits/unlabelled-{split}.txt',
            pipeline=_base_.weak_pipeline),
    ]))
