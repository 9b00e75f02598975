# Class-wise memory bank contrast, Cityscapes 1/8 labelled, as
# ./cmb_deeplabv3plus-r50-d8_1xb7-80k_cityscapes-1of8.py with DeepLabV2
# ResNet-101 (Alonso et al., ICCV 2021, arXiv 2104.13415, Table 2: 63.0 mIoU
# with ImageNet, 64.4 with COCO pre-training). Cityscapes downsampled to
# 512x1024 (section 4.2, DeepLabV2 only):
#   python tools/convert_cityscapes.py data/cityscapes \
#       --out data/cityscapes_512x1024
#   python tools/make_splits.py ratio --dataset cityscapes \
#       --data-root data/cityscapes_512x1024 --ratio 1/8
# The model, optimiser, batch and data changes are those of
# ./cmb_deeplabv2-r101-d8_1xb5-80k_cityscapes-1of30.py; only the split differs.
_base_ = ['./cmb_deeplabv2-r101-d8_1xb5-80k_cityscapes-1of30.py']
split = '1of8'
_labelled, _unlabelled = _base_.train_dataloader.dataset.datasets
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_labelled, ann_file=f'splits/labelled-{split}.txt'),
        dict(_unlabelled, ann_file=f'splits/unlabelled-{split}.txt'),
    ]))
