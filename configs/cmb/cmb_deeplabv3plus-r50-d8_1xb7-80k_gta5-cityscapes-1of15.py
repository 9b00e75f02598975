# As ./cmb_deeplabv3plus-r50-d8_1xb7-80k_gta5-cityscapes-1of30.py with 1/15 of
# the Cityscapes train images labelled (199; python tools/make_splits.py ratio
# --dataset cityscapes --data-root data/cityscapes --ratio 1/15);
# supplement Table 3: 62.0 mIoU.
_base_ = ['./cmb_deeplabv3plus-r50-d8_1xb7-80k_gta5-cityscapes-1of30.py']
split = '1of15'
num_city_labelled = 199
city_repeat = 126
model = dict(method_losses=[
    dict(
        _base_.model.method_losses[0],
        num_labelled_images=num_city_labelled)
])
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(
            type='ConcatDataset',
            datasets=[
                _base_.gta5_dataset,
                dict(
                    type='RepeatDataset',
                    times=city_repeat,
                    dataset=dict(
                        _base_.city_labelled_dataset,
                        ann_file=f'splits/labelled-{split}.txt'))
            ]),
        dict(
            _base_.unlabelled_dataset,
            ann_file=f'splits/unlabelled-{split}.txt'),
    ]))
# the global batch these settings were tuned for (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=14)
