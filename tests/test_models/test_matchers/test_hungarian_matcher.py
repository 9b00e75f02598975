import itertools

import pytest
import torch
from mmseg.registry import TASK_UTILS

from mmseg_reco.models.matchers.hungarian_matcher import HungarianMatcher

BIG = 10.0


def _segments(batch=2, num=3, num_classes=4, size=8, seed=0):
    """Disjoint random segments with random classes, padded to ``num``."""
    g = torch.Generator().manual_seed(seed)
    owner = torch.randint(0, num, (batch, size, size), generator=g)
    masks = (owner[:, None] == torch.arange(num)[None, :, None, None])
    labels = torch.randint(0, num_classes, (batch, num), generator=g)
    return labels, masks.float()


def _predictions(labels, masks, perm, num_queries, num_classes):
    """Queries that reproduce target g in query perm[b, g]."""
    batch = labels.shape[0]
    cls = torch.zeros(batch, num_queries, num_classes + 1)
    cls[..., num_classes] = BIG
    mask_logits = torch.full((batch, num_queries, *masks.shape[-2:]), -BIG)
    for b in range(batch):
        for g, q in enumerate(perm[b]):
            cls[b, q] = 0
            cls[b, q, labels[b, g]] = BIG
            mask_logits[b, q] = (masks[b, g] * 2 - 1) * BIG
    return cls, mask_logits


@pytest.mark.parametrize('num_points', [None, 500])
def test_finds_the_known_permutation(num_points):
    torch.manual_seed(0)
    labels, masks = _segments()
    perm = [[4, 0, 2], [1, 3, 5]]
    cls, mask_logits = _predictions(labels, masks, perm, 6, 4)
    matcher = HungarianMatcher(num_points=num_points)
    matched = matcher(cls, mask_logits, labels, masks,
                      torch.ones(2, 3, dtype=torch.bool))
    assert matched.dtype == torch.long and matched.shape == (2, 3)
    assert matched.tolist() == perm


def test_masks_at_lower_resolution_are_upsampled():
    labels, masks = _segments(size=16)
    perm = [[2, 0, 1], [0, 1, 2]]
    cls, mask_logits = _predictions(labels, masks, perm, 3, 4)
    small = torch.nn.functional.interpolate(mask_logits, size=(8, 8))
    matched = HungarianMatcher(num_points=None)(
        cls, small, labels, masks, torch.ones(2, 3, dtype=torch.bool))
    assert matched.tolist() == perm


@pytest.mark.parametrize('seed', range(5))
def test_assignment_is_optimal_by_brute_force(seed):
    g = torch.Generator().manual_seed(seed)
    num_queries, num_targets, num_classes = 5, 3, 3
    cls = torch.randn(1, num_queries, num_classes + 1, generator=g)
    mask_logits = torch.randn(1, num_queries, 6, 6, generator=g) * 3
    labels, masks = _segments(1, num_targets, num_classes, 6, seed)
    matcher = HungarianMatcher(num_points=None, mask_cost='focal')
    cost = matcher.cost_matrix(cls, mask_logits, labels, masks)[0]
    matched = matcher(cls, mask_logits, labels, masks,
                      torch.ones(1, num_targets, dtype=torch.bool))[0]
    assert len(set(matched.tolist())) == num_targets
    found = sum(cost[q, t] for t, q in enumerate(matched.tolist()))
    best = min(
        sum(cost[q, t] for t, q in enumerate(rows))
        for rows in itertools.permutations(range(num_queries), num_targets))
    assert torch.isclose(found, best)


def test_padding_and_surplus_targets_are_unmatched():
    labels, masks = _segments(batch=2, num=4)
    valid = torch.tensor([[True, False, True, False], [True] * 4])
    cls = torch.randn(2, 3, 5)
    mask_logits = torch.randn(2, 3, 8, 8)
    matched = HungarianMatcher(num_points=None)(cls, mask_logits, labels,
                                                masks, valid)
    assert (matched[0, ~valid[0]] == -1).all()
    assert (matched[0, valid[0]] >= 0).all()
    # 4 valid targets, 3 queries: one is left out, the rest distinct
    assert (matched[1] == -1).sum() == 1
    assigned = matched[1][matched[1] >= 0].tolist()
    assert sorted(assigned) == [0, 1, 2]
    empty = HungarianMatcher()(cls, mask_logits, labels,
                               masks, torch.zeros_like(valid))
    assert (empty == -1).all()


def test_cost_weights_and_mask_cost_choice():
    labels, masks = _segments()
    cls = torch.randn(2, 4, 5)
    mask_logits = torch.randn(2, 4, 8, 8)
    only_class = HungarianMatcher(
        cost_class=1.0, cost_mask=0.0, cost_dice=0.0, num_points=None)
    cost = only_class.cost_matrix(cls, mask_logits, labels, masks)
    prob = cls.softmax(-1)
    assert torch.allclose(cost[0, 2, 1], -prob[0, 2, labels[0, 1]])
    bce = HungarianMatcher(mask_cost='bce', num_points=None)
    assert bce.cost_matrix(cls, mask_logits, labels, masks).shape == (2, 4, 3)
    with pytest.raises(AssertionError):
        HungarianMatcher(mask_cost='l1')


def test_built_from_the_registry_without_gradient():
    matcher = TASK_UTILS.build(
        dict(type='HungarianMatcher', cost_mask=5.0, num_points=64))
    assert isinstance(matcher, HungarianMatcher) and matcher.cost_mask == 5.0
    labels, masks = _segments()
    cls = torch.randn(2, 4, 5, requires_grad=True)
    mask_logits = torch.randn(2, 4, 8, 8, requires_grad=True)
    cost = matcher.cost_matrix(cls, mask_logits, labels, masks)
    assert not cost.requires_grad
