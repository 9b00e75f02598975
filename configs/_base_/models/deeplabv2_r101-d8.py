# DeepLabV2 (Chen et al., TPAMI 2017): ResNet-101 at output stride 8 and the
# ASPP-V2 classifier (four parallel dilated 3x3 convolutions straight to the
# classes, rates 6, 12, 18, 24, outputs summed), as in the class-wise memory
# bank paper's main experiments (Alonso et al., ICCV 2021, arXiv 2104.13415,
# section 4.2). ImageNet pre-training (open-mmlab ResNetV1c: deep stem, unlike
# the original ResNet-101); the paper's Tables 2, 3, 5-8 use COCO pre-training,
# which is not available as an mmseg checkpoint: point ``pretrained`` to a
# converted one to reproduce them.
norm_cfg = dict(type='SyncBN', requires_grad=True)
num_classes = 21
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    # training pipelines pad to the crop size, so batches stack as they are
    size_divisor=1)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(
        type='ResNetV1c',
        depth=101,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        type='DeepLabV2Head',
        in_channels=2048,
        in_index=3,
        dilations=(6, 12, 18, 24),
        num_classes=num_classes,
        align_corners=False,
        # mean over the labelled (non-ignored) pixels, as the authors' CE
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
