import copy

import pytest
import torch
import torch.nn as nn
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData

import mmseg_reco  # noqa: F401
import mmseg_reco.models.decode_heads.cmb_head  # noqa: F401
import mmseg_reco.models.semi_methods.cmb_term  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_reco.models.decode_heads.cmb_head import ClassWiseAttention
from mmseg_reco.testing.cmb_reference import class_wise_attention_modules
from mmseg_reco.testing.tiny_models import tiny_resnet

NUM_CLASSES = 4
NORM = dict(type='BN', requires_grad=True)
INNER = dict(
    type='DepthwiseSeparableASPPHead',
    in_channels=32,
    in_index=3,
    channels=16,
    dilations=(1, 2),
    c1_in_channels=8,
    c1_channels=4,
    num_classes=NUM_CLASSES,
    norm_cfg=NORM)


def _head(**kwargs):
    cfg = dict(
        type='CMBHead',
        decode_head=copy.deepcopy(INNER),
        proj_dim=12,
        proj_hidden=10,
        attention_hidden=6,
        norm_cfg=NORM)
    cfg.update(kwargs)
    return MODELS.build(cfg)


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
    for _ in range(batch):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, NUM_CLASSES, (1, size, size)))
        sample.set_metainfo(
            dict(img_shape=(size, size), pad_shape=(size, size),
                 ori_shape=(size, size)))
        samples.append(sample)
    return samples


def _separate_modules(attention):
    """The C modules of the paper, built from the stacked weights."""
    return list(class_wise_attention_modules(attention))


@pytest.mark.parametrize('training', [True, False])
def test_class_wise_attention_equals_one_module_per_class(training):
    torch.manual_seed(0)
    attention = ClassWiseAttention(3, in_dim=5, hidden_dim=7)
    with torch.no_grad():  # non-trivial running statistics for eval mode
        attention.running_mean.normal_()
        attention.running_var.uniform_(0.5, 2.0)
        attention.bn_weight.normal_()
        attention.bn_bias.normal_()
    modules = _separate_modules(attention)
    x = torch.randn(30, 5)
    labels = torch.randint(-1, 4, (30, ))  # -1 and 3: left out
    labels[:3] = 1  # class 1 has several rows; class 2 may have fewer
    valid = torch.rand(30) > 0.2
    attention.train(training)
    scores = attention(x, labels, valid)
    for c, module in enumerate(modules):
        module.train(training)
        rows = (labels == c) & valid
        if training and rows.sum() < 2:
            continue  # BatchNorm1d refuses one row in train mode
        if rows.any():
            expected = module(x[rows])[:, 0]
            torch.testing.assert_close(scores[rows], expected)
        if training and rows.sum() >= 2:
            torch.testing.assert_close(attention.running_mean[c],
                                       module[1].running_mean)
            torch.testing.assert_close(attention.running_var[c],
                                       module[1].running_var)
    assert (scores[~valid | (labels < 0) | (labels > 2)] == 0).all()
    assert ((scores >= 0) & (scores <= 1)).all()


def test_class_wise_attention_gradients_equal_one_module_per_class():
    torch.manual_seed(0)
    attention = ClassWiseAttention(4, in_dim=6, hidden_dim=5)
    modules = _separate_modules(attention)
    x = torch.randn(40, 6, requires_grad=True)
    labels = torch.randint(0, 4, (40, ))
    labels[:8] = torch.arange(4).repeat(2)  # every class has two rows
    grad_out = torch.randn(40)
    (attention(x, labels) * grad_out).sum().backward()
    x_ref = x.detach().clone().requires_grad_()
    total = 0
    for c, module in enumerate(modules):
        rows = labels == c
        total = total + (module(x_ref[rows])[:, 0] * grad_out[rows]).sum()
    total.backward()
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-5, atol=1e-6)
    for c, module in enumerate(modules):
        torch.testing.assert_close(attention.weight1.grad[c],
                                   module[0].weight.grad, rtol=1e-5,
                                   atol=1e-6)
        torch.testing.assert_close(attention.bias1.grad[c],
                                   module[0].bias.grad, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(attention.bn_weight.grad[c],
                                   module[1].weight.grad, rtol=1e-5,
                                   atol=1e-6)
        torch.testing.assert_close(attention.weight2.grad[c],
                                   module[3].weight.grad[0], rtol=1e-5,
                                   atol=1e-6)


def test_class_wise_attention_costs_one_linear_layer_per_row():
    """The first layer's multiply-adds are M x D x H, not C times that."""
    from torch.utils.flop_counter import FlopCounterMode
    num_classes, rows, dim, hidden = 19, 512, 64, 32
    attention = ClassWiseAttention(num_classes, dim, hidden)
    x = torch.randn(rows, dim)
    labels = torch.randint(0, num_classes, (rows, ))
    with FlopCounterMode(display=False) as counter:
        attention(x, labels)
    one_layer = 2 * rows * dim * hidden
    assert one_layer <= counter.get_total_flops() < 1.5 * one_layer


def test_class_wise_attention_is_batched_not_a_module_list():
    attention = ClassWiseAttention(19, 256, 256)
    assert attention.weight1.shape == (19, 256, 256)
    assert not any(isinstance(m, nn.ModuleList) for m in attention.modules())


def test_training_outputs_and_eval_logits():
    head = _head()
    head.train()
    out = head(_inputs())
    assert set(out) == {'seg_logits', 'proj', 'pred'}
    assert out['seg_logits'].shape == (2, NUM_CLASSES, 16, 16)
    assert out['proj'].shape == out['pred'].shape == (2, 12, 16, 16)
    # g and q are per-pixel Linear-BN-ReLU-Linear (1x1 convolutions)
    for branch in (head.rep_branch, head.pred_branch):
        convs = [m for m in branch.modules() if isinstance(m, nn.Conv2d)]
        assert [c.kernel_size for c in convs] == [(1, 1), (1, 1)]
        assert any(isinstance(m, nn.BatchNorm2d) for m in branch.modules())
    head.eval()
    logits = head(_inputs())
    assert isinstance(logits, torch.Tensor)
    assert logits.shape == (2, NUM_CLASSES, 16, 16)
    metas = [s.metainfo for s in _samples()]
    pred = head.predict(_inputs(), metas, dict(mode='whole'))
    assert pred.shape == (2, NUM_CLASSES, 64, 64)
    # eval-mode forward_train still gives the projections (teacher use)
    out = head.forward_train(_inputs(), with_pred=False)
    assert set(out) == {'seg_logits', 'proj'}


def test_supervised_loss_is_the_inner_heads():
    head = _head()
    head.train()
    losses = head.loss(_inputs(), _samples(), dict())
    assert set(losses) == {'loss_ce', 'acc_seg'}
    losses['loss_ce'].backward()
    assert head.rep_branch[0].conv.weight.grad is None  # not in L_sup
    assert head.decode_head.conv_seg.weight.grad is not None


def test_every_parameter_is_in_exactly_one_optimiser_group():
    segmentor = dict(
        type='EncoderDecoder',
        backbone=tiny_resnet(),
        decode_head=dict(
            type='CMBHead',
            proj_dim=8,
            proj_hidden=8,
            attention_hidden=4,
            norm_cfg=NORM,
            decode_head=dict(INNER, in_channels=64, c1_in_channels=8)))
    model = MODELS.build(
        dict(
            type='SemiSegmentor',
            segmentor=segmentor,
            strong_aug=dict(
                type='StrongAugment', mix='classmix',
                num_classes=NUM_CLASSES),
            pseudo_loss=None,
            method_losses=[
                dict(type='CMBTerm', num_classes=NUM_CLASSES,
                     bank=dict(feat_dim=8, size=4, topk=1))
            ]))
    wrapper = build_optim_wrapper(
        model,
        dict(
            type='OptimWrapper',
            optimizer=dict(type='SGD', lr=0.01, momentum=0.9),
            paramwise_cfg=dict(
                custom_keys={'decode_head.conv_seg': dict(lr_mult=10.)})))
    seen = [id(p) for g in wrapper.optimizer.param_groups for p in g['params']]
    assert len(seen) == len(set(seen))
    head = model.student.decode_head
    trainable = {id(p) for p in model.student.parameters()}
    assert trainable <= set(seen)
    for part in (head.rep_branch, head.pred_branch, head.proj_attention,
                 head.pred_attention):
        assert {id(p) for p in part.parameters()} <= set(seen)
    # the bank is state, not a parameter
    names = [n for n, _ in model.named_parameters()]
    assert not any(n.endswith('bank.bank') for n in names)
    assert 'method_losses.0.bank.bank' in model.state_dict()
