# Class-wise memory bank contrast, Cityscapes 1/30 labelled, as
# ./cmb_deeplabv3plus-r50-d8_1xb7-80k_cityscapes-1of30.py but with DeepLabV2
# ResNet-101 (Alonso et al., ICCV 2021, arXiv 2104.13415, Table 2: 58.0 mIoU
# with ImageNet, 59.4 with COCO pre-training). DeepLabV2 (ASPP-V2 classifier,
# ../_base_/models/deeplabv2_r101-d8.py) with an ImageNet ResNet-101
# (open-mmlab ResNetV1c) in place of DeepLabV3+ ResNet-50; section 4.2 for
# DeepLabV2: lr 2e-4, batch 5 (labelled) + 5 (unlabelled strong views).
# Cityscapes downsampled to 512x1024 (section 4.2, DeepLabV2 only):
#   python tools/convert_cityscapes.py data/cityscapes \
#       --out data/cityscapes_512x1024
#   python tools/make_splits.py ratio --dataset cityscapes \
#       --data-root data/cityscapes_512x1024 --ratio 1/30
_base_ = ['./cmb_deeplabv3plus-r50-d8_1xb7-80k_cityscapes-1of30.py']
num_classes = 19
data_root = 'data/cityscapes_512x1024'
model = dict(
    segmentor=dict(
        pretrained=None,
        backbone=dict(
            depth=101,
            init_cfg=dict(
                type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')),
        # CMBHead taps the classifier's input, the 2048-channel layer-4
        # feature at output stride 8 (DeepLabV2 has no narrower feature)
        decode_head=dict(
            tap='aspp',
            decode_head=dict(
                _delete_=True,
                type='DeepLabV2Head',
                in_channels=2048,
                in_index=3,
                dilations=(6, 12, 18, 24),
                num_classes=num_classes,
                align_corners=False,
                loss_decode=_base_.model.segmentor.decode_head.decode_head.
                loss_decode))))
optim_wrapper = dict(optimizer=dict(lr=2e-4))
batch_size = 10
num_labelled = 5


def _half_scale(pipeline, scale):
    """The labelled pipeline with the random resize around ``scale``."""
    return [
        dict(t, transforms=[dict(t['transforms'][0], scale=scale)])
        if t['type'] == 'RandomApply' else t for t in pipeline
    ]


train_dataloader = dict(
    batch_size=batch_size,
    sampler=dict(batch_size=batch_size, num_labelled=num_labelled),
    dataset=dict(datasets=[
        dict(
            _base_.train_dataloader.dataset.datasets[0],
            data_root=data_root,
            pipeline=_half_scale(
                _base_.train_dataloader.dataset.datasets[0].pipeline,
                (1024, 512))),
        dict(_base_.train_dataloader.dataset.datasets[1], data_root=data_root),
    ]))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
# the global batch these settings were tuned for (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=10)
