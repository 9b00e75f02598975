# RC2L's model (Zhang et al., IJCAI 2022, section 4.1): ResNet-101 with a MaskFormer
# head (mmseg_reco's RegionHead; mmdet is not needed). Hyper-parameters
# follow MaskFormer's semantic segmentation configs (256-d pixel decoder and
# transformer, 6 decoder layers, 8 heads, FFN 2048, dropout 0.1, deep
# supervision, GroupNorm in the pixel decoder, BN of the backbone frozen,
# matcher and loss weights 1 / 20 / 1 for class / focal / dice, no-object
# weight 0.1) with RC2L's 50 queries (Table 5). Losses and matching use
# 12544 sampled points per mask (Mask2Former) to bound memory at 512 and 768
# crops; set point_sample.num_points=None in the head and num_points=None in
# its matcher for MaskFormer's dense losses.
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
num_points = 12544
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet',
        depth=101,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        norm_cfg=norm_cfg,
        norm_eval=True,
        style='pytorch',
        contract_dilation=True,
        init_cfg=dict(
            type='Pretrained', checkpoint='torchvision://resnet101')),
    decode_head=dict(
        type='RegionHead',
        in_channels=[256, 512, 1024, 2048],
        in_index=[0, 1, 2, 3],
        channels=256,
        mask_dim=256,
        num_queries=50,
        transformer=dict(
            hidden_dim=256,
            num_heads=8,
            num_layers=6,
            ffn_channels=2048,
            dropout=0.1),
        deep_supervision=True,
        num_classes=num_classes,
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        align_corners=False,
        matcher=dict(
            type='HungarianMatcher',
            cost_class=1.0,
            cost_mask=20.0,
            cost_dice=1.0,
            mask_cost='focal',
            num_points=num_points),
        eos_coef=0.1,
        loss_weights=dict(cls=1.0, mask=20.0, dice=1.0),
        mask_loss=dict(form='focal'),
        point_sample=dict(num_points=num_points)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
