# Class-wise memory bank contrast, Pascal VOC aug 1/8 labelled, as
# ./cmb_deeplabv3plus-r50-d8_1xb20-80k_voc12aug-1of8.py with DeepLabV2
# ResNet-101 (Alonso et al., ICCV 2021, arXiv 2104.13415, Table 3: 69.9 mIoU
# with ImageNet, 71.6 with COCO pre-training). The model, optimiser, batch and
# data changes are those of
# ./cmb_deeplabv2-r101-d8_1xb14-80k_voc12aug-1of50.py; only the split differs.
_base_ = ['./cmb_deeplabv2-r101-d8_1xb14-80k_voc12aug-1of50.py']
split = '1of8'
_labelled, _unlabelled = _base_.train_dataloader.dataset.datasets
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_labelled, ann_file=f'splits/labelled-{split}.txt'),
        dict(_unlabelled, ann_file=f'splits/unlabelled-{split}.txt'),
    ]))
