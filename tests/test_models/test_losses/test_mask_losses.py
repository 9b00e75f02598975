import pytest
import torch
import torch.nn.functional as F

from mmseg_reco.models.losses.mask_losses import (
    dice_loss, pairwise_dice_cost, pairwise_sigmoid_ce_cost,
    pairwise_sigmoid_focal_cost, reduce_num_masks, sigmoid_ce_loss,
    sigmoid_focal_loss)

BIG = 30.0


def _masks(num=4, points=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    targets = (torch.rand(num, points, generator=g) > 0.5).float()
    logits = torch.randn(num, points, generator=g) * 2
    return logits, targets


def test_perfect_prediction_gives_near_zero_losses():
    _, targets = _masks()
    logits = (targets * 2 - 1) * BIG
    assert dice_loss(logits, targets, 4) < 1e-3
    assert sigmoid_focal_loss(logits, targets, 4) < 1e-6
    assert sigmoid_ce_loss(logits, targets, 4) < 1e-6


def test_inverted_prediction_gives_large_losses():
    _, targets = _masks()
    logits = (1 - 2 * targets) * BIG
    # p = 1 - t: no overlap, sum(p) + sum(t) = P, smoothing eps = 1
    expected = 1 - 1 / (targets.shape[-1] + 1)
    assert torch.allclose(
        dice_loss(logits, targets, 4), torch.tensor(expected), atol=1e-4)
    assert sigmoid_ce_loss(logits, targets, 4) > 20


def test_focal_matches_its_formula():
    logits, targets = _masks()
    alpha, gamma = 0.25, 2.0
    p = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    p_t = p * targets + (1 - p) * (1 - targets)
    a_t = alpha * targets + (1 - alpha) * (1 - targets)
    expected = (a_t * ce * (1 - p_t)**gamma).mean(-1).sum() / 3.0
    assert torch.allclose(
        sigmoid_focal_loss(logits, targets, 3.0, alpha=alpha, gamma=gamma),
        expected)
    # alpha < 0 switches the class balance off
    assert torch.allclose(
        sigmoid_focal_loss(logits, targets, 3.0, alpha=-1, gamma=0),
        sigmoid_ce_loss(logits, targets, 3.0))


def test_weight_drops_padding_and_num_masks_normalises():
    logits, targets = _masks()
    weight = torch.tensor([1., 1., 0., 0.])
    for fn in (dice_loss, sigmoid_focal_loss, sigmoid_ce_loss):
        full = fn(logits[:2], targets[:2], 2)
        padded = fn(logits, targets, 2, weight)
        assert torch.allclose(full, padded)
        assert torch.allclose(fn(logits, targets, 2), 2 * fn(
            logits, targets, 4))


@pytest.mark.parametrize('pairwise,elementwise', [
    (pairwise_dice_cost, lambda x, t: dice_loss(x, t, 1)),
    (pairwise_sigmoid_focal_cost, lambda x, t: sigmoid_focal_loss(x, t, 1)),
    (pairwise_sigmoid_ce_cost, lambda x, t: sigmoid_ce_loss(x, t, 1)),
])
def test_pairwise_costs_match_elementwise_losses(pairwise, elementwise):
    logits, _ = _masks(num=3, seed=1)
    _, targets = _masks(num=5, seed=2)
    cost = pairwise(logits[None], targets[None])[0]
    assert cost.shape == (3, 5)
    for q in range(3):
        for g in range(5):
            assert torch.allclose(
                cost[q, g], elementwise(logits[q], targets[g]), atol=1e-5)


def test_losses_are_float32_and_differentiable_from_bfloat16():
    logits, targets = _masks()
    logits = logits.bfloat16().requires_grad_()
    loss = dice_loss(logits, targets, 4) + sigmoid_focal_loss(
        logits, targets, 4)
    assert loss.dtype == torch.float32
    loss.backward()
    assert torch.isfinite(logits.grad.float()).all()
    assert logits.grad.abs().sum() > 0


def test_reduce_num_masks_clamps_without_process_group():
    assert reduce_num_masks(torch.tensor(0)) == 1.0
    counts = reduce_num_masks(torch.tensor([3, 0]))
    assert counts.dtype == torch.float32
    assert counts.tolist() == [3.0, 1.0]
