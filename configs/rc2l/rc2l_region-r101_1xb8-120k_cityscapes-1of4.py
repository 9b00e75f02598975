# RC2L (Zhang et al., IJCAI 2022, Tables 1-2): 1/4 (744) labelled images;
# split files from: python tools/make_splits.py ratio --dataset cityscapes --ratio 1/4
_base_ = ['./rc2l_region-r101_1xb8-120k_cityscapes-1of8.py']
split = '1of4'
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
# the global batch these settings were tuned for (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=16)
