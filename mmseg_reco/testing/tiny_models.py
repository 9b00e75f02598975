"""Configs of tiny models for CPU tests.

A ResNet-18 with 8 base channels (output channels 8, 16, 32, 64), mmseg's
DeepLabV3+ head at 16 channels, and the data preprocessor with ImageNet
statistics. The functions return fresh dicts, so a test may edit them.
"""
from typing import Optional, Sequence

#: Batch norm with learnable affine parameters.
NORM = dict(type='BN', requires_grad=True)


def tiny_preprocessor(size: Optional[int] = None, **kwargs) -> dict:
    """``SegDataPreProcessor`` with ImageNet mean/std, BGR to RGB.

    Args:
        size (int, optional): pad every image to ``(size, size)``.
        **kwargs: further preprocessor arguments (e.g. ``size_divisor``).
    """
    cfg = dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True)
    if size is not None:
        cfg['size'] = (size, size)
    cfg.update(kwargs)
    return cfg


def tiny_resnet(dilations: Optional[Sequence[int]] = (1, 1, 2, 4),
                strides: Optional[Sequence[int]] = (1, 2, 1, 1)) -> dict:
    """ResNetV1c-18 with 8 base and stem channels; output stride 8 by
    default. ``None`` leaves ``dilations``/``strides`` at ResNet's
    defaults (output stride 32)."""
    cfg = dict(
        type='ResNetV1c',
        depth=18,
        base_channels=8,
        stem_channels=8,
        norm_cfg=dict(NORM))
    if dilations is not None:
        cfg['dilations'] = tuple(dilations)
    if strides is not None:
        cfg['strides'] = tuple(strides)
    return cfg


def tiny_aspp_head(num_classes: int) -> dict:
    """DeepLabV3+ (``DepthwiseSeparableASPPHead``) on :func:`tiny_resnet`."""
    return dict(
        type='DepthwiseSeparableASPPHead',
        in_channels=64,
        in_index=3,
        channels=16,
        dilations=(1, 2),
        c1_in_channels=8,
        c1_channels=4,
        num_classes=num_classes,
        norm_cfg=dict(NORM))


def tiny_segmentor(num_classes: int, size: int,
                   representation: bool = True) -> dict:
    """``EncoderDecoder``: :func:`tiny_resnet` and :func:`tiny_aspp_head`,
    wrapped in an 8-channel ``RepresentationHead`` (ReCo's
    ``sep_bottleneck`` tap, no loss of its own) unless ``representation``
    is False."""
    head = tiny_aspp_head(num_classes)
    if representation:
        head = dict(
            type='RepresentationHead',
            rep_dim=8,
            tap='sep_bottleneck',
            norm_cfg=dict(NORM),
            loss_rep=None,
            decode_head=head)
    return dict(
        type='EncoderDecoder',
        data_preprocessor=tiny_preprocessor(size),
        backbone=tiny_resnet(),
        decode_head=head,
        test_cfg=dict(mode='whole'))
