# Narrow DeepLabV3+ for the label-efficiency benchmark on the 64x64 demo
# canvases (docs/benchmarks.md): ResNet-18 v1c at half width (stem and
# stages 32-64-128-256 channels) at output stride 16 (stage 4 dilated, as
# the authors of ReCo run DeepLabV3+), a 64-channel ASPP head whose
# dilations fit the 4x4 map of a 64x64 canvas, and the stride-4 skip.
# Randomly initialised, since nothing is downloaded: the benchmark and the
# demo start the backbone from tools/pretrain_backbone.py's checkpoint.
_base_ = ['./deeplabv3plus_r101-d8.py']
norm_cfg = dict(type='BN', requires_grad=True)
num_classes = 11
model = dict(
    pretrained=None,
    backbone=dict(
        depth=18,
        stem_channels=32,
        base_channels=32,
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=256,
        channels=64,
        dilations=(1, 1, 2, 3),
        c1_in_channels=32,
        c1_channels=12,
        num_classes=num_classes,
        norm_cfg=norm_cfg))
