# Class-wise memory bank contrast, Pascal VOC aug 1/50 labelled, as
# ./cmb_deeplabv3plus-r50-d8_1xb20-80k_voc12aug-1of50.py but with DeepLabV2
# ResNet-101 (Alonso et al., ICCV 2021, arXiv 2104.13415, Table 3: 65.4 mIoU
# with ImageNet, 67.9 with COCO pre-training). DeepLabV2 (ASPP-V2 classifier,
# ../_base_/models/deeplabv2_r101-d8.py) with an ImageNet ResNet-101
# (open-mmlab ResNetV1c) in place of DeepLabV3+ ResNet-50; section 4.2 for
# DeepLabV2: lr 2e-4, batch 14 (labelled) + 14 (unlabelled strong views).
_base_ = ['./cmb_deeplabv3plus-r50-d8_1xb20-80k_voc12aug-1of50.py']
num_classes = 21
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
batch_size = 28
num_labelled = 14
train_dataloader = dict(
    batch_size=batch_size,
    sampler=dict(batch_size=batch_size, num_labelled=num_labelled))
# the global batch these settings were tuned for (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=28)
