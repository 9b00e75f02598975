import copy

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import PixelData

import mmseg_reco  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_reco.testing.tiny_models import tiny_aspp_head, tiny_resnet

NUM_CLASSES = 4
NORM = dict(type='BN', requires_grad=True)

# inner heads of mmseg, with multi-level inputs (N, C, h, w) they accept
INNER_HEADS = {
    'DepthwiseSeparableASPPHead':
    dict(
        type='DepthwiseSeparableASPPHead',
        in_channels=32,
        in_index=3,
        channels=16,
        dilations=(1, 2),
        c1_in_channels=8,
        c1_channels=4),
    'ASPPHead':
    dict(type='ASPPHead', in_channels=32, in_index=3, channels=16,
         dilations=(1, 2)),
    'FCNHead':
    dict(type='FCNHead', in_channels=32, in_index=3, channels=16,
         num_convs=1),
    'UPerHead':
    dict(
        type='UPerHead',
        in_channels=[8, 16, 24, 32],
        in_index=[0, 1, 2, 3],
        channels=16,
        pool_scales=(1, 2)),
    'SegformerHead':
    dict(
        type='SegformerHead',
        in_channels=[8, 16, 24, 32],
        in_index=[0, 1, 2, 3],
        channels=16),
}


def _inputs(batch=2):
    torch.manual_seed(0)
    return [
        torch.randn(batch, 8, 16, 16),
        torch.randn(batch, 16, 8, 8),
        torch.randn(batch, 24, 8, 8),
        torch.randn(batch, 32, 8, 8),
    ]


def _samples(batch=2, size=64):
    samples = []
    for i in range(batch):
        sample = SegDataSample()
        label = torch.randint(0, NUM_CLASSES, (1, size, size))
        sample.gt_sem_seg = PixelData(data=label)
        sample.set_metainfo(
            dict(
                img_shape=(size, size),
                pad_shape=(size, size),
                ori_shape=(size, size)))
        samples.append(sample)
    return samples


def _build(inner, **kwargs):
    inner = dict(copy.deepcopy(inner), num_classes=NUM_CLASSES, norm_cfg=NORM)
    cfg = dict(
        type='RepresentationHead',
        decode_head=inner,
        rep_dim=8,
        loss_rep=dict(type='ReCoLoss', num_queries=16, num_negatives=32))
    cfg.update(kwargs)
    return MODELS.build(cfg)


@pytest.mark.parametrize('name', sorted(INNER_HEADS))
def test_train_returns_logits_and_rep_eval_returns_logits(name):
    head = _build(INNER_HEADS[name])
    head.train()
    logits, rep = head(_inputs())
    assert logits.shape[:2] == (2, NUM_CLASSES)
    assert rep.shape[:2] == (2, 8)
    head.eval()
    with torch.no_grad():
        out = head(_inputs())
        pred = head.predict(_inputs(), [s.metainfo for s in _samples()], {})
    assert isinstance(out, torch.Tensor) and out.shape == logits.shape
    assert pred.shape == (2, NUM_CLASSES, 64, 64)


@pytest.mark.parametrize('name', sorted(INNER_HEADS))
def test_loss_keys_and_gradient_reaches_branch(name):
    head = _build(INNER_HEADS[name])
    head.train()
    losses = head.loss(_inputs(), _samples(), {})
    assert {'loss_ce', 'acc_seg', 'loss_reco', 'reco_num_queries',
            'reco_num_classes'} <= set(losses)
    total = losses['loss_ce'] + losses['loss_reco']
    total.backward()
    grad = head.rep_branch[0].conv.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    assert losses['reco_num_classes'] == NUM_CLASSES


def test_sep_bottleneck_tap_uses_the_concatenation():
    inner = INNER_HEADS['DepthwiseSeparableASPPHead']
    head = _build(inner, tap='sep_bottleneck')
    # 16 ASPP channels + 4 low-level channels feed sep_bottleneck
    assert head.rep_branch[0].conv.in_channels == 20
    head.train()
    logits, rep = head(_inputs())
    # the tap sits at the low-level (1/4) resolution, like the logits
    assert rep.shape[2:] == logits.shape[2:] == (16, 16)


def test_default_tap_is_feature_before_dropout():
    head = _build(INNER_HEADS['FCNHead'])
    assert head.rep_branch[0].conv.in_channels == 16
    captured = []
    head.decode_head.conv_seg.register_forward_pre_hook(
        lambda m, a: captured.append(a[0]))
    head.eval()  # no dropout: the tap input equals the conv_seg input
    head._capture = True
    with torch.no_grad():
        head.decode_head(_inputs())
    head._capture = False
    assert torch.equal(head._tapped[0], captured[0])


def test_inference_skips_the_branch():
    head = _build(INNER_HEADS['ASPPHead'])
    calls = []
    head.rep_branch.register_forward_hook(lambda *a: calls.append(1))
    head.eval()
    with torch.no_grad():
        head.predict(_inputs(), [s.metainfo for s in _samples()], {})
    assert not calls and not head._tapped


def test_unknown_tap_names_the_choices():
    with pytest.raises(ValueError, match='not a sub-module'):
        _build(INNER_HEADS['ASPPHead'], tap='no_such_module')


def test_inside_encoder_decoder_predict_returns_logits():
    model = MODELS.build(
        ConfigDict(
            type='EncoderDecoder',
            data_preprocessor=dict(
                type='SegDataPreProcessor', mean=[0, 0, 0], std=[1, 1, 1]),
            backbone=tiny_resnet(),
            decode_head=dict(
                type='RepresentationHead',
                rep_dim=8,
                tap='sep_bottleneck',
                norm_cfg=NORM,
                loss_rep=dict(
                    type='ReCoLoss', num_queries=8, num_negatives=16),
                decode_head=tiny_aspp_head(NUM_CLASSES)),
            test_cfg=dict(mode='whole')))
    inputs = torch.rand(2, 3, 64, 64)
    model.train()
    losses = model.loss(inputs, _samples())
    assert 'decode.loss_reco' in losses
    model.eval()
    with torch.no_grad():
        preds = model.predict(inputs, _samples())
    assert preds[0].seg_logits.data.shape == (NUM_CLASSES, 64, 64)
    assert preds[0].pred_sem_seg.data.shape == (1, 64, 64)
