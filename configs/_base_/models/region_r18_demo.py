# A small region (MaskFormer) model for the 64x64 demo canvases on a CPU:
# ResNet-18 v1c with the last stage dilated (tokens at 1/16, 4x4), a 64-d
# pixel decoder and transformer with 3 decoder layers and 20 queries (a
# canvas holds at most 5 segments), dense losses and matching (64x64 labels).
# Randomly initialised, since nothing is downloaded: set
# ``model.backbone.init_cfg=dict(type='Pretrained', checkpoint=...)`` or
# ``load_from`` to start from weights you have.
_base_ = ['./region_r101.py']
norm_cfg = dict(type='BN', requires_grad=True)
num_classes = 11
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNetV1c',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 2),
        strides=(1, 2, 2, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        in_channels=[64, 128, 256, 512],
        channels=64,
        mask_dim=64,
        num_queries=20,
        transformer=dict(
            hidden_dim=64, num_heads=4, num_layers=3, ffn_channels=256),
        num_classes=num_classes,
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True),
        matcher=dict(num_points=None),
        point_sample=dict(num_points=None)))
