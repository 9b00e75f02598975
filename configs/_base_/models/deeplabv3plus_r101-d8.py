# ReCo's segmentation model (section 4.1 / appendix A): the DeepLabV3+ of
# deeplabv3plus_r50-d8.py with an ImageNet ResNet-101 (mmseg's r101 configs
# change the same two keys).
_base_ = ['./deeplabv3plus_r50-d8.py']
model = dict(pretrained='open-mmlab://resnet101_v1c', backbone=dict(depth=101))
