# Small DeepLabV3+ (ResNet-18 v1c, output stride 8) for the 64x64 demo
# canvases on a CPU. Randomly initialised, since nothing is downloaded: set
# ``model.backbone.init_cfg=dict(type='Pretrained', checkpoint=...)`` or
# ``load_from`` to start from weights you have.
_base_ = ['./deeplabv3plus_r101-d8.py']
norm_cfg = dict(type='BN', requires_grad=True)
num_classes = 11
model = dict(
    pretrained=None,
    backbone=dict(depth=18, norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=512,
        channels=128,
        dilations=(1, 2, 4, 6),
        c1_in_channels=64,
        c1_channels=12,
        num_classes=num_classes,
        norm_cfg=norm_cfg))
