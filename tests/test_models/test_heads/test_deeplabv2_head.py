import pytest
import torch
from mmengine.structures import PixelData

import mmseg_reco  # noqa: F401
import mmseg_reco.models.decode_heads.cmb_head  # noqa: F401
import mmseg_reco.models.decode_heads.deeplabv2_head  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

NUM_CLASSES = 3
IN_CHANNELS = 16
DILATIONS = (1, 2, 3, 4)


def _head(**kwargs):
    cfg = dict(
        type='DeepLabV2Head',
        in_channels=IN_CHANNELS,
        in_index=3,
        dilations=DILATIONS,
        num_classes=NUM_CLASSES)
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def _inputs(size=9, batch=2):
    g = torch.Generator().manual_seed(0)
    return [
        torch.randn(batch, 4, size, size, generator=g),
        torch.randn(batch, 4, size, size, generator=g),
        torch.randn(batch, 4, size, size, generator=g),
        torch.randn(batch, IN_CHANNELS, size, size, generator=g),
    ]


def test_output_is_the_sum_of_the_dilated_branches():
    head = _head()
    inputs = _inputs()
    out = head(inputs)
    assert out.shape == (2, NUM_CLASSES, 9, 9)
    x = inputs[3]
    expected = sum(
        torch.nn.functional.conv2d(
            x, conv.weight, conv.bias, padding=d, dilation=d)
        for conv, d in zip(head.aspp.convs, DILATIONS))
    torch.testing.assert_close(out, expected)
    assert [c.dilation for c in head.aspp.convs] == [(d, d)
                                                     for d in DILATIONS]
    assert [c.in_channels for c in head.aspp.convs] == [IN_CHANNELS] * 4


def test_no_unused_parameters_and_classifier_init():
    head = _head()
    assert not hasattr(head, 'conv_seg')
    for conv in head.aspp.convs:
        assert conv.weight.std() < 0.02
        assert torch.all(conv.bias == 0)
    data_samples = [
        SegDataSample(
            gt_sem_seg=PixelData(
                data=torch.randint(0, NUM_CLASSES, (1, 36, 36))))
        for _ in range(2)
    ]
    losses = head.loss(_inputs(), data_samples, train_cfg=dict())
    losses['loss_ce'].backward()
    for name, param in head.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_default_dilations_are_deeplabv2():
    head = MODELS.build(
        dict(
            type='DeepLabV2Head',
            in_channels=8,
            in_index=0,
            num_classes=2))
    assert head.dilations == (6, 12, 18, 24)


def test_cmb_head_taps_the_classifier_input():
    cmb = MODELS.build(
        dict(
            type='CMBHead',
            decode_head=dict(
                type='DeepLabV2Head',
                in_channels=IN_CHANNELS,
                in_index=3,
                dilations=DILATIONS,
                num_classes=NUM_CLASSES),
            tap='aspp',
            proj_dim=6,
            proj_hidden=5,
            attention_hidden=4,
            norm_cfg=dict(type='BN', requires_grad=True)))
    cmb.train()
    inputs = _inputs()
    out = cmb.forward_train(inputs)
    assert out['seg_logits'].shape == (2, NUM_CLASSES, 9, 9)
    assert out['proj'].shape == (2, 6, 9, 9)
    # the classifier (the dilated branches) reads the in_index feature: the
    # projection is g of that feature, the logits the plain head's
    torch.testing.assert_close(out['proj'], cmb.rep_branch(inputs[3]))
    torch.testing.assert_close(out['seg_logits'], cmb.decode_head(inputs))
    cmb.eval()
    torch.testing.assert_close(cmb(inputs), cmb.decode_head(inputs))


def test_cls_seg_tap_is_refused():
    with pytest.raises(ValueError, match='conv_seg'):
        MODELS.build(
            dict(
                type='CMBHead',
                decode_head=dict(
                    type='DeepLabV2Head',
                    in_channels=IN_CHANNELS,
                    in_index=3,
                    num_classes=NUM_CLASSES),
                tap='cls_seg',
                norm_cfg=dict(type='BN', requires_grad=True)))
