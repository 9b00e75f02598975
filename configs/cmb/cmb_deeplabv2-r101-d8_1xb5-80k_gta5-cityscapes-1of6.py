# Semi-supervised domain adaptation GTA5 -> Cityscapes 1/6 labelled, as
# ./cmb_deeplabv3plus-r50-d8_1xb7-80k_gta5-cityscapes-1of6.py with
# DeepLabV2 ResNet-101 (Alonso et al., ICCV 2021, arXiv 2104.13415, Table 4:
# 64.2 mIoU, ImageNet). Cityscapes downsampled to 512x1024 (section 4.2,
# DeepLabV2 only):
#   python tools/convert_cityscapes.py data/cityscapes \
#       --out data/cityscapes_512x1024
#   python tools/make_splits.py ratio --dataset cityscapes \
#       --data-root data/cityscapes_512x1024 --ratio 1/6
# The model, optimiser, batch and data changes are those of
# ./cmb_deeplabv2-r101-d8_1xb5-80k_gta5-cityscapes-1of30.py; only the split
# (and with it the bank's K and the Cityscapes repeat) differs.
_base_ = ['./cmb_deeplabv2-r101-d8_1xb5-80k_gta5-cityscapes-1of30.py']
split = '1of6'
num_city_labelled = 496
city_repeat = 51
model = dict(method_losses=[
    dict(
        _base_.model.method_losses[0],
        num_labelled_images=num_city_labelled)
])
_labelled, _unlabelled = _base_.train_dataloader.dataset.datasets
_gta5, _city = _labelled.datasets
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(
            _labelled,
            datasets=[
                _gta5,
                dict(
                    _city,
                    times=city_repeat,
                    dataset=dict(
                        _city.dataset,
                        ann_file=f'splits/labelled-{split}.txt')),
            ]),
        dict(_unlabelled, ann_file=f'splits/unlabelled-{split}.txt'),
    ]))
