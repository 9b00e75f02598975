import math

import torch

from mmseg_reco.models.losses.region_losses import (
    matched_contrast, pairwise_dice_similarity, rcc_loss, rfc_loss, rmc_loss,
    smc_loss, teacher_regions, union_logits)

BIG = 20.0
K = 4  # classes; K is 'no object'
Q = 5  # student queries
H = W = 8


def _stripes():
    """Teacher regions: image 0 has 3 disjoint stripes, image 1 has one.

    Returns labels (2, 4), masks (2, 4, H, W), valid (2, 4): slot 3 of
    image 0 and slots 1-3 of image 1 are padding.
    """
    masks = torch.zeros(2, 4, H, W)
    masks[0, 0, :, 0:3] = 1
    masks[0, 1, :, 3:6] = 1
    masks[0, 2, :, 6:8] = 1
    masks[1, 0, 2:6, 2:6] = 1
    labels = torch.tensor([[0, 1, 2, 0], [3, 0, 0, 0]])
    valid = torch.tensor([[True, True, True, False],
                          [True, False, False, False]])
    return labels, masks * valid[..., None, None], valid


def _student_like(labels, masks, valid, matched):
    """Student outputs that reproduce the teacher regions in the queries
    ``matched`` and predict 'no object' with empty masks elsewhere."""
    cls = torch.full((2, Q, K + 1), -BIG)
    cls[..., K] = BIG
    mask_logits = torch.full((2, Q, H, W), -BIG)
    for b in range(2):
        for g in range(4):
            if valid[b, g]:
                q = matched[b, g]
                cls[b, q] = -BIG
                cls[b, q, labels[b, g]] = BIG
                mask_logits[b, q] = (masks[b, g] * 2 - 1) * BIG
    return cls, mask_logits


MATCHED = torch.tensor([[2, 0, 4, -1], [1, -1, -1, -1]])


def test_teacher_regions_keep_confident_disjoint_masks():
    cls = torch.full((1, 4, K + 1), -BIG)
    cls[0, 0, 1] = BIG  # confident class 1
    cls[0, 1, 2] = BIG  # confident class 2
    cls[0, 2, 3] = 0.5  # not confident: spread over classes
    cls[0, 3, K] = BIG  # no object
    masks = torch.full((1, 4, H, W), -BIG)
    masks[0, 0, :, :4] = BIG
    masks[0, 1, :, 4:] = BIG
    masks[0, 2:] = BIG  # cover everything but must be dropped
    labels, regions, valid = teacher_regions(cls, masks)
    assert valid.tolist() == [[True, True, False, False]]
    assert labels[0, :2].tolist() == [1, 2]
    assert regions.shape == (1, 4, H, W)
    assert torch.equal(regions[0, 0, :, :4], torch.ones(H, 4))
    assert regions[0, 0, :, 4:].sum() == 0
    assert torch.equal(regions[0, 1, :, 4:], torch.ones(H, 4))
    assert regions[0, 2:].sum() == 0
    assert (regions.sum(1) <= 1).all()  # disjoint
    assert labels.max() < K


def test_teacher_regions_drop_masks_mostly_covered_by_others():
    cls = torch.full((1, 2, K + 1), -BIG)
    cls[0, 0, 0] = BIG
    cls[0, 1, 1] = 3.0  # confident (> 0.8) but less than query 0
    masks = torch.full((1, 2, H, W), -BIG)
    masks[0, 0] = BIG  # wins every pixel but two
    masks[0, 0, 0, :2] = -BIG
    masks[0, 1, :4, :4] = BIG  # keeps 2 of its 16 pixels
    _, regions, valid = teacher_regions(cls, masks)
    assert valid.tolist() == [[True, False]]
    assert regions[0, 1].sum() == 0
    _, regions, valid = teacher_regions(cls, masks, overlap_threshold=0.1)
    assert valid.tolist() == [[True, True]]
    assert regions[0, 1].sum() == 2 and regions[0, 1, 0, :2].sum() == 2


def test_dice_similarity_of_identical_and_disjoint_masks():
    _, masks, _ = _stripes()
    sim = pairwise_dice_similarity(masks.flatten(2), masks.flatten(2))
    assert sim.shape == (2, 4, 4)
    assert torch.allclose(sim[0, :3, :3].diagonal(), torch.ones(3))
    off = sim[0, :3, :3] - torch.diag(sim[0, :3, :3].diagonal())
    assert off.max() < 0.05  # disjoint stripes: eps / (sum + eps)


def test_matched_contrast_by_hand():
    sim = torch.tensor([[[0.9, 0.1, 0.3], [0.2, 0.8, 0.0],
                         [0.5, 0.5, 0.5]]])
    matched = torch.tensor([[0, 1, -1]])
    tau = 0.5
    loss, counted = matched_contrast(sim, matched, tau)
    assert counted.tolist() == [[True, True, False]]
    # negatives: the other matched query only (query 2 is not in ID)
    assert math.isclose(loss[0, 0].item(), -0.9 / tau + 0.1 / tau,
                        rel_tol=1e-5)
    assert math.isclose(loss[0, 1].item(), -0.8 / tau + 0.2 / tau,
                        rel_tol=1e-5)
    assert loss[0, 2] == 0
    info, _ = matched_contrast(sim, matched, tau, positive_in_denominator=True)
    expected = -0.9 / tau + math.log(math.exp(0.9 / tau) + math.exp(0.1 / tau))
    assert math.isclose(info[0, 0].item(), expected, rel_tol=1e-5)


def test_matched_contrast_lone_region_counts_zero_and_stays_finite():
    sim = torch.rand(1, 2, 3, requires_grad=True)
    loss, counted = matched_contrast(sim, torch.tensor([[1, -1]]), 0.1)
    assert not counted.any() and loss.sum() == 0
    loss.sum().backward()
    assert torch.isfinite(sim.grad).all()


def test_region_losses_are_minimal_for_identical_regions():
    labels, masks, valid = _stripes()
    cls, mask_logits = _student_like(labels, masks, valid, MATCHED)
    feats = torch.randn(2, 6, H, W)
    # the same student with its masks rolled: every region mismatched
    wrong_masks = mask_logits.roll(3, dims=-1)
    # the same student predicting wrong classes
    wrong_cls = cls.roll(1, dims=-1)

    good = rmc_loss(mask_logits, masks, MATCHED, 0.1)
    assert good < rmc_loss(wrong_masks, masks, MATCHED, 0.1)
    # image 0: 3 regions with pos = 1 and 2 negatives ~ 0, i.e. the minimum
    # -1/tau + log(2); image 1: a lone region (0); 4 regions in all
    assert math.isclose(good.item(), 3 * (-10 + math.log(2)) / 4, abs_tol=0.3)

    assert rfc_loss(mask_logits, masks, feats, MATCHED, 0.1) < rfc_loss(
        wrong_masks, masks, feats, MATCHED, 0.1)

    assert rcc_loss(cls, labels, MATCHED) < 1e-6
    assert rcc_loss(wrong_cls, labels, MATCHED) > 10

    assert smc_loss(cls, mask_logits, labels, masks, valid) < 0.05
    assert smc_loss(cls, wrong_masks, labels, masks, valid) > 1
    assert smc_loss(wrong_cls, mask_logits, labels, masks, valid) > 1


def test_losses_ignore_padding_and_normalise_by_avg_factor():
    labels, masks, valid = _stripes()
    cls, mask_logits = _student_like(labels, masks, valid, MATCHED)
    cls, mask_logits = cls + torch.randn_like(cls), mask_logits * 0.1
    garbage = masks.clone()
    garbage[~valid] = 1.0  # padded slots hold junk: must not matter
    labels_junk = labels.clone()
    labels_junk[~valid] = 3
    feats = torch.randn(2, 6, H, W)
    assert torch.allclose(
        rmc_loss(mask_logits, masks, MATCHED, 0.1),
        rmc_loss(mask_logits, garbage, MATCHED, 0.1))
    assert torch.allclose(
        rfc_loss(mask_logits, masks, feats, MATCHED),
        rfc_loss(mask_logits, garbage, feats, MATCHED))
    assert torch.allclose(
        rcc_loss(cls, labels, MATCHED), rcc_loss(cls, labels_junk, MATCHED))
    assert torch.allclose(
        smc_loss(cls, mask_logits, labels, masks, valid),
        smc_loss(cls, mask_logits, labels_junk, garbage, valid))
    # default normaliser: the 4 matched regions
    assert torch.allclose(
        rcc_loss(cls, labels, MATCHED),
        rcc_loss(cls, labels, MATCHED, avg_factor=2.0) / 2)


def test_gradients_reach_queries_masks_and_pixel_features():
    labels, masks, valid = _stripes()
    cls = torch.randn(2, Q, K + 1, requires_grad=True)
    mask_logits = torch.randn(2, Q, H, W, requires_grad=True)
    feats = torch.randn(2, 6, H, W, requires_grad=True)
    total = (rmc_loss(mask_logits, masks, MATCHED) +
             rfc_loss(mask_logits, masks, feats, MATCHED) +
             rcc_loss(cls, labels, MATCHED) +
             smc_loss(cls, mask_logits, labels, masks, valid))
    assert torch.isfinite(total)
    total.backward()
    for t in (cls, mask_logits, feats):
        assert torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0
    # only matched queries receive the class gradient of RCC
    assert cls.grad[0, 1].abs().sum() == 0 and cls.grad[0, 3].abs().sum() == 0


def test_rfc_target_gradient_is_optional():
    labels, masks, valid = _stripes()
    mask_logits = torch.randn(2, Q, H, W)
    feats = torch.randn(2, 6, H, W, requires_grad=True)
    rfc_loss(mask_logits, masks, feats, MATCHED, detach_target=True).backward()
    detached = feats.grad.clone()
    feats.grad = None
    rfc_loss(
        mask_logits, masks, feats, MATCHED, detach_target=False).backward()
    assert not torch.allclose(detached, feats.grad)


def test_union_logits():
    logits = torch.randn(1, 3, 10)
    single = torch.tensor([[[1., 0.], [0., 0.], [0., 1.]]])
    union = union_logits(logits, single)
    assert torch.allclose(union[0, 0], logits[0, 0], atol=1e-4)
    assert torch.allclose(union[0, 1], logits[0, 2], atol=1e-4)
    both = union_logits(logits, torch.ones(1, 3, 1))[0, 0].sigmoid()
    expected = 1 - (1 - logits[0].sigmoid()).prod(0)
    assert torch.allclose(both, expected, atol=1e-5)
    empty = union_logits(logits, torch.zeros(1, 3, 1))
    assert torch.isfinite(empty).all() and (empty.sigmoid() < 1e-5).all()


def test_losses_are_float32_under_autocast():
    labels, masks, valid = _stripes()
    cls = torch.randn(2, Q, K + 1).bfloat16()
    mask_logits = torch.randn(2, Q, H, W).bfloat16()
    feats = torch.randn(2, 6, H, W).bfloat16()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        values = (rmc_loss(mask_logits, masks, MATCHED),
                  rfc_loss(mask_logits, masks, feats, MATCHED),
                  rcc_loss(cls, labels, MATCHED),
                  smc_loss(cls, mask_logits, labels, masks, valid))
        regions = teacher_regions(cls, mask_logits)
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in values)
    assert regions[1].dtype == torch.float32
