# As ./cmb_deeplabv3plus-r50-d8_1xb20-80k_voc12aug-1of50.py with 1/20 of the
# VOC aug images labelled (python tools/make_splits.py ratio --dataset
# voc12aug --ratio 1/20); paper Table 3: 69.1 mIoU.
_base_ = ['./cmb_deeplabv3plus-r50-d8_1xb20-80k_voc12aug-1of50.py']
split = '1of20'
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.labelled_dataset, ann_file=f'splits/labelled-{split}.txt'),
        dict(
            _base_.unlabelled_dataset,
            ann_file=f'splits/unlabelled-{split}.txt'),
    ]))
# the global batch these settings were tuned for (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=40)
