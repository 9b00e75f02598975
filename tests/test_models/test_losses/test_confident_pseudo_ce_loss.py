"""The confident pseudo-label CE of FixMatch and UniMatch: the threshold
mask, the mean over valid pixels, the per-view reduction and the module."""
import math

import pytest
import torch

import mmseg_reco  # noqa: F401
from mmseg.registry import MODELS
from mmseg_reco.models.losses import confident_pseudo_ce


def _one_image():
    """Four pixels: confidence 0.951 (kept), 0.949 (below 0.95), 0.99
    (kept) and one ignored pixel."""
    logits = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0],
                           [2.0, 2.0, 2.0], [0.3, 0.1, 0.2]])
    logits = logits.t().reshape(1, 3, 2, 2)  # pixel p has logits[p]
    labels = torch.tensor([[[1, 2], [0, 255]]])
    conf = torch.tensor([[[0.951, 0.949], [0.99, 1.0]]])
    return logits, labels, conf


def _ce(row, label):
    return math.log(sum(math.exp(v) for v in row)) - row[label]


def test_confident_ce_by_hand_threshold_and_valid_mean():
    logits, labels, conf = _one_image()
    out = confident_pseudo_ce(logits, labels, conf, threshold=0.95)
    rows = logits.reshape(3, 4).t().tolist()
    # pixel 0 kept (0.951), pixel 1 below the threshold (0.949), pixel 2
    # kept, pixel 3 ignored: the sum over the two kept pixels over the
    # three valid ones
    expected = (_ce(rows[0], 1) + _ce(rows[2], 0)) / 3
    assert out['loss'].shape == (1, )
    assert out['loss'].item() == pytest.approx(expected, rel=1e-6)
    assert out['mask_ratio'].item() == pytest.approx(2 / 3)


def test_pixel_at_0949_gets_no_gradient_and_at_0951_does():
    logits, labels, conf = _one_image()
    logits.requires_grad_(True)
    confident_pseudo_ce(logits, labels, conf, threshold=0.95)['loss'].sum(
    ).backward()
    grad = logits.grad.abs().sum(1).flatten()  # per pixel
    assert grad[0] > 0 and grad[2] > 0
    assert grad[1] == 0  # 0.949: ignored
    assert grad[3] == 0  # ignore_index


def test_confident_ce_reduces_each_group_alone():
    torch.manual_seed(0)
    logits = torch.randn(4, 3, 5, 5)
    labels = torch.randint(0, 3, (4, 5, 5))
    labels[2:, :2] = 255  # the second group has fewer valid pixels
    conf = torch.rand(4, 5, 5)
    both = confident_pseudo_ce(logits, labels, conf, 0.5, num_groups=2)
    for g in range(2):
        one = confident_pseudo_ce(logits[2 * g:2 * g + 2],
                                  labels[2 * g:2 * g + 2],
                                  conf[2 * g:2 * g + 2], 0.5)
        torch.testing.assert_close(both['loss'][g], one['loss'][0])
        torch.testing.assert_close(both['mask_ratio'][g],
                                   one['mask_ratio'][0])


def test_module_weights_the_function_and_names_each_view():
    torch.manual_seed(1)
    logits = torch.randn(4, 3, 6, 6)
    labels = torch.randint(0, 3, (4, 6, 6))
    conf = torch.rand(4, 6, 6)
    loss = MODELS.build(
        dict(type='ConfidentPseudoCELoss', threshold=0.4, loss_weight=0.25,
             loss_name='loss_strong'))
    ref = confident_pseudo_ce(logits, labels, conf, 0.4, num_groups=2)
    out = loss(logits, labels, conf, num_groups=2)
    assert set(out) == {'loss_strong_1', 'loss_strong_2', 'mask_ratio'}
    assert torch.equal(out['loss_strong_1'], 0.25 * ref['loss'][0])
    assert torch.equal(out['loss_strong_2'], 0.25 * ref['loss'][1])
    assert torch.equal(out['mask_ratio'], ref['mask_ratio'].mean())
    one = loss(logits, labels, conf)
    assert set(one) == {'loss_strong', 'mask_ratio'}
    ref = confident_pseudo_ce(logits, labels, conf, 0.4)
    assert torch.equal(one['loss_strong'], 0.25 * ref['loss'][0])


def test_module_ignore_index_and_bad_loss_name():
    logits, labels, conf = _one_image()
    labels = labels.clone()
    labels[labels == 255] = 7
    loss = MODELS.build(dict(type='ConfidentPseudoCELoss', ignore_index=7))
    ref = confident_pseudo_ce(*_one_image(), threshold=0.95)
    assert torch.equal(
        loss(logits, labels, conf)['loss_confident_pseudo_ce'],
        ref['loss'][0])
    with pytest.raises(ValueError, match="must start with 'loss_'"):
        MODELS.build(dict(type='ConfidentPseudoCELoss', loss_name='ce'))
