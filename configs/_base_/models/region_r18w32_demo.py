# The region (MaskFormer) model of the label-efficiency benchmark
# (docs/benchmarks.md): ./region_r18_demo.py on the benchmark's half-width
# ResNet-18 (stem and stages 32-64-128-256 channels), whose Fashion-MNIST
# pre-training (tools/pretrain_backbone.py) it loads.
_base_ = ['./region_r18_demo.py']
model = dict(
    backbone=dict(stem_channels=32, base_channels=32),
    decode_head=dict(in_channels=[32, 64, 128, 256]))
