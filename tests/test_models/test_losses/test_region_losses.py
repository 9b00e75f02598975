import math

import pytest
import torch
import torch.nn.functional as F

from mmseg_reco.models.losses.mask_losses import dice_loss, sigmoid_focal_loss
from mmseg_reco.models.losses.region_losses import (
    TeacherRegions, contrast_members, group_sum, label_regions,
    matched_contrast, pairwise_dice_similarity, pixel_consistency_loss,
    rcc_loss, rfc_loss, rmc_loss, segment_negatives, smc_loss,
    teacher_regions, union_logits)

BIG = 20.0
K = 4  # classes; K is 'no object'
Q = 5  # student queries
H = W = 8


def _logit(p):
    return math.log(p / (1 - p))


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


def _semantic_argmax(cls, masks):
    return torch.einsum('bqk,bqhw->bkhw', cls.softmax(-1)[..., :-1],
                        masks.sigmoid()).argmax(1)


def test_teacher_regions_keep_confident_disjoint_masks():
    cls = torch.full((1, 4, K + 1), -BIG)
    cls[0, 0, 1] = BIG  # confident class 1
    cls[0, 1, 2] = BIG  # confident class 2
    cls[0, 3, K] = BIG  # no object
    cls[0, 2, K] = BIG
    masks = torch.full((1, 4, H, W), -BIG)
    masks[0, 0, :, :4] = BIG
    masks[0, 1, :, 4:] = BIG
    masks[0, 2:] = BIG  # no-object queries own nothing
    regions = teacher_regions(cls, masks)
    assert regions.valid.tolist() == [[True, True, False, False]]
    assert regions.labels[0, :2].tolist() == [1, 2]
    assert regions.masks.shape == (1, 4, H, W)
    assert torch.equal(regions.masks[0, 0, :, :4], torch.ones(H, 4))
    assert regions.masks[0, 0, :, 4:].sum() == 0
    assert torch.equal(regions.masks[0, 1, :, 4:], torch.ones(H, 4))
    assert regions.masks[0, 2:].sum() == 0
    assert regions.known.all()
    assert torch.equal(regions.segments, regions.masks)
    assert regions.labels.max() < K


def test_teacher_regions_drop_masks_mostly_covered_by_others():
    cls = torch.full((1, 2, K + 1), -BIG)
    cls[0, 0, 0] = BIG
    cls[0, 1, 1] = 3.0  # confident (> 0.8) but less than query 0
    masks = torch.full((1, 2, H, W), -BIG)
    masks[0, 0] = BIG  # wins every pixel but two
    masks[0, 0, 0, :2] = -BIG
    masks[0, 1, :4, :4] = 2.0  # keeps 2 of its 16 pixels
    masks[0, 1, 0, :2] = BIG
    regions = teacher_regions(cls, masks, semantic_threshold=0.5)
    assert regions.valid.tolist() == [[True, False]]
    assert regions.masks[0, 1].sum() == 0
    # its 2 pixels are ignored, not given to query 0
    assert regions.segment_valid.tolist() == [[True, True]]
    assert regions.known.sum() == H * W - 2
    # at the default semantic threshold the overlap is ambiguous (ignored)
    assert teacher_regions(cls, masks).known.sum() == H * W - 16
    regions = teacher_regions(
        cls, masks, overlap_threshold=0.1, semantic_threshold=0.5)
    assert regions.valid.tolist() == [[True, True]]
    assert regions.masks[0, 1].sum() == 2
    assert regions.masks[0, 1, 0, :2].sum() == 2


def test_teacher_regions_ignore_pixels_an_unconfident_query_owns():
    """A confident background query (p = 0.85) whose mask (0.55) also
    covers an object, and an unconfident object query (p = 0.7, mask 0.95)
    that wins the object under semantic inference: the object's pixels are
    ignored, not given to background."""
    cls = torch.log(
        torch.tensor([[[0.85, 0.02, 0.01, 0.02, 0.10],
                       [0.05, 0.70, 0.05, 0.05, 0.15],
                       [0.01, 0.01, 0.01, 0.01, 0.96]]]))
    obj = torch.zeros(16, 16, dtype=torch.bool)
    obj[6:10, 6:10] = True
    masks = torch.stack([
        torch.full((16, 16), _logit(0.55)),
        torch.where(obj, _logit(0.95), _logit(0.05)),
        torch.full((16, 16), -BIG)
    ])[None]
    assert (_semantic_argmax(cls, masks)[0][obj] == 1).all()
    regions = teacher_regions(cls, masks)
    assert regions.valid.tolist() == [[True, False, False]]
    assert regions.masks[0, 0][obj].sum() == 0
    assert regions.masks[0, 0][~obj].all()
    assert not regions.known[0][obj].any()
    # the object is the unconfident query's segment (a matching target)
    assert regions.segment_valid.tolist() == [[True, True, False]]
    assert torch.equal(regions.segments[0, 1].bool(), obj)
    # its semantic confidence there is 0.665 / (0.665 + 0.4675) < 0.6; with
    # MaskFormer's code default object_threshold 0 and a looser semantic
    # threshold it is a region
    assert not teacher_regions(cls, masks, object_threshold=0.0).valid[0, 1]
    regions = teacher_regions(
        cls, masks, object_threshold=0.0, semantic_threshold=0.5)
    assert regions.valid.tolist() == [[True, True, False]]
    assert regions.known.all()


def test_teacher_regions_agree_with_semantic_inference():
    g = torch.Generator().manual_seed(0)
    num_regions = 0
    for trial in range(20):
        cls = torch.randn(3, 6, K + 1, generator=g) * 3
        masks = torch.randn(3, 6, H, W, generator=g) * 3
        threshold = (0.0, 0.5)[trial % 2]
        regions = teacher_regions(
            cls, masks, object_threshold=threshold, semantic_threshold=0.0)
        semantic = _semantic_argmax(cls, masks)
        label_map = (regions.masks * (regions.labels[..., None, None] + 1)
                     ).sum(1).long() - 1
        assert (regions.masks.sum(1) <= 1).all()  # disjoint
        assert torch.equal(regions.known, regions.masks.sum(1) > 0)
        known = regions.known
        assert torch.equal(label_map[known], semantic[known])
        # the pixel consistency's pixels: every owner agrees with the
        # semantic argmax, and they include the regions
        owner_map = (regions.segments * (regions.labels[..., None, None] + 1)
                     ).sum(1).long() - 1
        agreed = regions.agreed
        assert torch.equal(owner_map[agreed], semantic[agreed])
        assert not (known & ~agreed).any()
        num_regions += int(regions.valid.sum())
    assert num_regions > 20


def test_teacher_regions_semantic_threshold():
    # two confident queries of different classes overlap on the left half
    cls = torch.full((1, 2, K + 1), -BIG)
    cls[0, 0, 0] = BIG
    cls[0, 1, 1] = BIG
    masks = torch.full((1, 2, H, W), -BIG)
    masks[0, 0] = BIG
    masks[0, 1, :, :4] = _logit(0.9)  # confidence 1 / 1.9 < 0.6 there
    regions = teacher_regions(cls, masks)
    assert regions.valid.tolist() == [[True, False]]
    assert not regions.known[0, :, :4].any()
    assert regions.known[0, :, 4:].all()
    loose = teacher_regions(cls, masks, semantic_threshold=0.5)
    assert loose.known.all()


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


def test_same_class_regions_are_not_negatives_with_labels():
    # three matched regions: 0 and 2 of class 5, 1 of class 3
    sim = torch.tensor([[[0.9, 0.1, 0.4, 0.3], [0.2, 0.8, 0.6, 0.0],
                         [0.7, 0.3, 0.6, 0.5]]])
    matched = torch.tensor([[0, 1, 2]])
    labels = torch.tensor([[5, 3, 5]])
    tau = 0.5
    printed, counted = matched_contrast(sim, matched, tau)
    assert counted.all()
    assert math.isclose(printed[0, 0].item(),
                        -0.9 / tau + math.log(math.exp(0.1 / tau) +
                                              math.exp(0.4 / tau)),
                        rel_tol=1e-5)
    by_class, counted = matched_contrast(sim, matched, tau, labels=labels)
    assert counted.all()
    # region 0's negatives: query 1 only (query 2 is matched to class 5)
    assert math.isclose(by_class[0, 0].item(), -0.9 / tau + 0.1 / tau,
                        rel_tol=1e-5)
    # region 1 (class 3): both other queries stay negatives
    assert math.isclose(by_class[0, 1].item(), printed[0, 1].item(),
                        rel_tol=1e-6)
    # regions of one class only: nothing to contrast
    _, counted = matched_contrast(sim, matched, tau,
                                  labels=torch.tensor([[5, 5, 5]]))
    assert not counted.any()
    # contrast_members counts the same regions as matched_contrast
    gen = torch.Generator().manual_seed(0)
    for _ in range(10):
        rand_matched = torch.randperm(6, generator=gen)[:4].repeat(3, 1)
        rand_matched[torch.rand(3, 4, generator=gen) < 0.3] = -1
        rand_labels = torch.randint(0, 3, (3, 4), generator=gen)
        rand_sim = torch.rand(3, 4, 6, generator=gen)
        for given in (None, rand_labels):
            _, expected = matched_contrast(rand_sim, rand_matched, tau,
                                           labels=given)
            assert torch.equal(contrast_members(rand_matched, given),
                               expected)
    assert not contrast_members(matched, torch.tensor([[5, 5, 5]])).any()
    assert contrast_members(matched, labels).all()
    # unmatched queries (3) never become negatives, whatever the labels
    alone, _ = matched_contrast(sim, torch.tensor([[0, -1, 2]]), tau,
                                labels=torch.tensor([[5, 0, 3]]))
    assert math.isclose(alone[0, 0].item(), -0.9 / tau + 0.4 / tau,
                        rel_tol=1e-5)


def test_rfc_with_labels_does_not_push_same_class_regions_apart():
    torch.manual_seed(0)
    feats = torch.randn(1, 4, 1, 4, requires_grad=True)
    # two teacher regions of one class (pixels 0-1 and 2-3), matched
    masks = torch.tensor([[[[1., 1., 0., 0.]], [[0., 0., 1., 1.]]]])
    logits = (masks * 8 - 4).clone()
    matched = torch.tensor([[0, 1]])
    printed = rfc_loss(logits, masks, feats, matched)
    (grad, ) = torch.autograd.grad(printed, feats)
    assert grad.abs().sum() > 0  # as printed: the two are pushed apart
    same = rfc_loss(logits, masks, feats, matched,
                    labels=torch.tensor([[0, 0]]))
    assert same.item() == 0
    if same.requires_grad:
        (grad, ) = torch.autograd.grad(same, feats, allow_unused=True)
        assert grad is None or grad.abs().sum() == 0
    other = rfc_loss(logits, masks, feats, matched,
                     labels=torch.tensor([[0, 1]]))
    assert torch.allclose(other, printed)


def test_lone_region_is_not_counted_in_either_form():
    sim = torch.rand(1, 2, 3, requires_grad=True)
    for infonce in (False, True):
        loss, counted = matched_contrast(
            sim, torch.tensor([[1, -1]]), 0.1, positive_in_denominator=infonce)
        assert not counted.any() and loss.sum() == 0
        loss.sum().backward()
        assert torch.isfinite(sim.grad).all()
    assert contrast_members(MATCHED).tolist() == [[True, True, True, False],
                                                  [False, False, False, False]]
    # image 1's lone region does not dilute the default normaliser
    labels, masks, valid = _stripes()
    mask_logits = torch.randn(2, Q, H, W)
    feats = torch.randn(2, 6, H, W)
    alone = MATCHED.clone()
    alone[1] = -1
    for form in ('infonce', 'printed'):
        assert torch.allclose(
            rmc_loss(mask_logits, masks, MATCHED, form=form),
            rmc_loss(mask_logits, masks, alone, form=form))
    assert torch.allclose(
        rfc_loss(mask_logits, masks, feats, MATCHED),
        rfc_loss(mask_logits, masks, feats, alone))


def test_region_losses_are_minimal_for_identical_regions():
    labels, masks, valid = _stripes()
    cls, mask_logits = _student_like(labels, masks, valid, MATCHED)
    feats = torch.randn(2, 6, H, W)
    # the same student with its masks rolled: every region mismatched
    wrong_masks = mask_logits.roll(3, dims=-1)
    # the same student predicting wrong classes
    wrong_cls = cls.roll(1, dims=-1)

    good = rmc_loss(mask_logits, masks, MATCHED, form='printed')
    assert good < rmc_loss(wrong_masks, masks, MATCHED, form='printed')
    # image 0: 3 regions with pos = 1 and 2 negatives ~ 0, i.e. the minimum
    # -1/tau + log(2); image 1's lone region is not counted
    assert math.isclose(good.item(), -10 + math.log(2), abs_tol=0.3)
    good = rmc_loss(mask_logits, masks, MATCHED)
    assert good < 1e-3 < rmc_loss(wrong_masks, masks, MATCHED)

    for form in ('bounded', 'printed'):
        assert rfc_loss(mask_logits, masks, feats, MATCHED,
                        form=form) < rfc_loss(
                            wrong_masks, masks, feats, MATCHED, form=form)

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
        rmc_loss(mask_logits, masks, MATCHED),
        rmc_loss(mask_logits, garbage, MATCHED))
    assert torch.allclose(
        rfc_loss(mask_logits, masks, feats, MATCHED),
        rfc_loss(mask_logits, garbage, feats, MATCHED))
    assert torch.allclose(
        rcc_loss(cls, labels, MATCHED), rcc_loss(cls, labels_junk, MATCHED))
    assert torch.allclose(
        smc_loss(cls, mask_logits, labels, masks, valid),
        smc_loss(cls, mask_logits, labels_junk, garbage, valid))
    # default normaliser of the contrast: the 3 regions with a negative
    assert torch.allclose(
        rmc_loss(mask_logits, masks, MATCHED),
        rmc_loss(mask_logits, masks, MATCHED, avg_factor=2.0) * 2 / 3)
    # Eq. 9 as printed: divided by the 4 matched regions
    assert torch.allclose(
        rcc_loss(cls, labels, MATCHED, eos_coef=None),
        rcc_loss(cls, labels, MATCHED, eos_coef=None, avg_factor=2.0) / 2)


def test_rcc_is_maskformer_class_loss():
    labels, _, _ = _stripes()
    cls = torch.randn(2, Q, K + 1)
    target = torch.full((2, Q), K)
    target[0, 2], target[0, 0], target[0, 4], target[1, 1] = 0, 1, 2, 3
    weight = torch.ones(K + 1)
    weight[K] = 0.1
    expected = F.cross_entropy(cls.transpose(1, 2), target, weight=weight)
    assert torch.allclose(rcc_loss(cls, labels, MATCHED), expected)
    # a query matched to an ignored segment gets no class and no 'no object'
    ignored = torch.tensor([[3], [-1]])
    keep = torch.ones(2, Q)
    keep[0, 3] = 0
    ce = F.cross_entropy(cls.transpose(1, 2), target, reduction='none')
    w = weight[target] * keep
    assert torch.allclose(
        rcc_loss(cls, labels, MATCHED, ignored), (w * ce).sum() / w.sum())
    # an image without regions adds nothing
    none = MATCHED.clone()
    none[1] = -1
    w = weight[target[:1]]
    assert torch.allclose(
        rcc_loss(cls, labels, none), (w * ce[:1]).sum() / w.sum())
    # Eq. 9 as printed: matched queries only
    printed = (ce[0, 2] + ce[0, 0] + ce[0, 4] + ce[1, 1]) / 4
    assert torch.allclose(rcc_loss(cls, labels, MATCHED, eos_coef=None),
                          printed)
    # a factor on the 'no object' terms: 1 changes nothing, matched
    # queries keep weight 1 whatever their factor
    factor = torch.rand(2, Q)
    assert torch.allclose(
        rcc_loss(cls, labels, MATCHED, no_object_weight=torch.ones(2, Q)),
        expected)
    w = weight[target] * torch.where(target == K, factor, torch.ones(2, Q))
    assert torch.allclose(
        rcc_loss(cls, labels, MATCHED, no_object_weight=factor),
        (w * ce).sum() / w.sum())


def test_ignored_pixels_do_not_matter():
    labels, masks, valid = _stripes()
    masks[0, 2, :, 7] = 0  # image 0's last column is ignored
    known = masks.sum(1) > 0
    cls = torch.randn(2, Q, K + 1)
    mask_logits = torch.randn(2, Q, H, W)
    feats = torch.randn(2, 6, H, W)
    changed = torch.where(known[:, None], mask_logits,
                          torch.randn_like(mask_logits) * 5)
    for fn in (lambda m, k: rmc_loss(m, masks, MATCHED, k),
               lambda m, k: rfc_loss(m, masks, feats, MATCHED, k),
               lambda m, k: smc_loss(cls, m, labels, masks, valid, k)):
        assert torch.allclose(
            fn(mask_logits, known), fn(changed, known), atol=1e-6)
        assert not torch.allclose(
            fn(mask_logits, None), fn(changed, None), atol=1e-6)
    # with every pixel known the weights change nothing
    assert torch.allclose(
        smc_loss(cls, mask_logits, labels, masks, valid),
        smc_loss(cls, mask_logits, labels, masks, valid,
                 torch.ones_like(known)))
    # focal: ignored points add 0 to the mean over all points; dice: left
    # out of the sums
    logits, target = torch.randn(1, 10), (torch.rand(1, 10) > 0.5).float()
    weight = torch.tensor([[1.] * 6 + [0.] * 4])
    assert torch.allclose(
        sigmoid_focal_loss(logits, target, 1.0, pixel_weight=weight),
        sigmoid_focal_loss(logits[:, :6], target[:, :6], 1.0) * 0.6)
    assert torch.allclose(
        dice_loss(logits, target, 1.0, pixel_weight=weight),
        dice_loss(logits[:, :6], target[:, :6], 1.0))


def test_bounded_rfc_gradient_stays_near_a_supervised_layer():
    """Faint student masks (logits about -6): the gradient of beta * RFC
    (beta = 20, tau = 0.1) at the masks and features, against that of a
    supervised MaskFormer layer (20 focal + dice) on the same masks."""
    torch.manual_seed(0)
    size, queries = 16, 6
    target = torch.zeros(2, queries, size, size)
    for g, (a, b) in enumerate(((0, 5), (5, 11), (11, 16))):
        target[:, g, :, a:b] = 1
    matched = torch.tensor([[0, 1, 2, -1, -1, -1]] * 2)
    mask_logits = ((target * 2 - 1) - 6 +
                   0.5 * torch.randn(2, queries, size, size)).requires_grad_()
    feats = torch.randn(2, 16, size, size, requires_grad=True)
    src, tgt = mask_logits[:, :3].flatten(2), target[:, :3].flatten(2)
    supervised = (20 * sigmoid_focal_loss(src, tgt, 6.0) +
                  dice_loss(src, tgt, 6.0))
    sup_norm = torch.autograd.grad(supervised, mask_logits)[0].norm()

    def norm(form):
        loss = 20 * rfc_loss(
            mask_logits, target, feats, matched, form=form, avg_factor=6.0)
        grads = torch.autograd.grad(loss, (mask_logits, feats))
        return torch.cat([g.flatten() for g in grads]).norm()

    assert norm('bounded') < 5 * sup_norm
    assert norm('printed') > 50 * sup_norm


def test_gradients_reach_queries_masks_and_pixel_features():
    labels, masks, valid = _stripes()
    cls = torch.randn(2, Q, K + 1, requires_grad=True)
    mask_logits = torch.randn(2, Q, H, W, requires_grad=True)
    feats = torch.randn(2, 6, H, W, requires_grad=True)
    total = (rmc_loss(mask_logits, masks, MATCHED) +
             rfc_loss(mask_logits, masks, feats, MATCHED) +
             rcc_loss(cls, labels, MATCHED, eos_coef=None) +
             smc_loss(cls, mask_logits, labels, masks, valid))
    assert torch.isfinite(total)
    total.backward()
    for t in (cls, mask_logits, feats):
        assert torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0
    # only matched queries receive the class gradient of Eq. 9 as printed
    assert cls.grad[0, 1].abs().sum() == 0 and cls.grad[0, 3].abs().sum() == 0


def test_rfc_target_gradient_is_optional():
    labels, masks, valid = _stripes()
    mask_logits = torch.randn(2, Q, H, W)
    feats = torch.randn(2, 6, H, W, requires_grad=True)
    for form in ('bounded', 'printed'):
        rfc_loss(mask_logits, masks, feats, MATCHED, form=form,
                 detach_target=True).backward()
        detached = feats.grad.clone()
        feats.grad = None
        rfc_loss(mask_logits, masks, feats, MATCHED, form=form,
                 detach_target=False).backward()
        assert not torch.allclose(detached, feats.grad)
        feats.grad = None


def test_union_logits():
    logits = torch.randn(1, 3, 10)
    union = union_logits(logits, torch.tensor([[0, 2, 1]]), 2)
    assert torch.allclose(union[0, 0], logits[0, 0], atol=1e-4)
    assert torch.allclose(union[0, 1], logits[0, 2], atol=1e-4)
    both = union_logits(logits, torch.zeros(1, 3, dtype=torch.long), 1)
    expected = 1 - (1 - logits[0].sigmoid()).prod(0)
    assert torch.allclose(both[0, 0].sigmoid(), expected, atol=1e-5)
    empty = union_logits(logits, torch.full((1, 3), 5), 1)
    assert torch.isfinite(empty).all() and (empty.sigmoid() < 1e-5).all()


def test_group_sum_equals_one_hot_product_with_its_gradient():
    torch.manual_seed(0)
    values = torch.randn(2, 7, 30, requires_grad=True)
    group = torch.tensor([[0, 3, 1, 4, 3, -1, 2], [4, 4, 0, 9, 1, 2, 2]])
    member = torch.stack([group == k for k in range(4)], -1).float()
    expected = torch.einsum('bnk,bnp->bkp', member, values)
    out = group_sum(values, group, 4)
    assert torch.allclose(out, expected, atol=1e-6)
    weight = torch.randn_like(out)
    grad, = torch.autograd.grad((out * weight).sum(), values)
    grad_ref, = torch.autograd.grad((expected * weight).sum(), values)
    assert torch.allclose(grad, grad_ref, atol=1e-6)
    # rows outside [0, 4) have no gradient
    assert (grad[0, 5] == 0).all() and (grad[1, 0:2] == 0).all()


def test_losses_are_float32_under_autocast():
    labels, masks, valid = _stripes()
    cls = torch.randn(2, Q, K + 1).bfloat16()
    mask_logits = torch.randn(2, Q, H, W).bfloat16()
    feats = torch.randn(2, 6, H, W).bfloat16()
    known = masks.sum(1) > 0
    with torch.autocast('cpu', dtype=torch.bfloat16):
        values = (rmc_loss(mask_logits, masks, MATCHED, known),
                  rfc_loss(mask_logits, masks, feats, MATCHED, known),
                  rcc_loss(cls, labels, MATCHED),
                  smc_loss(cls, mask_logits, labels, masks, valid, known))
        regions = teacher_regions(cls, mask_logits)
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in values)
    assert regions.masks.dtype == torch.float32


def test_segment_negatives_make_other_class_segments_count_against_a_union():
    """Only background (class 0) is confident; an unconfident object
    segment (class 2) owns the right half. SMC on regions alone does not
    see a background union that covers the object; with the segments'
    negatives it does."""
    h, w = 4, 8
    segments = torch.zeros(1, 2, h, w)
    segments[0, 0, :, :4] = 1  # background segment, a region
    segments[0, 1, :, 4:] = 1  # object segment, not confident
    regions = TeacherRegions(
        labels=torch.tensor([[0, 2]]),
        masks=segments * torch.tensor([1.0, 0.0])[:, None, None],
        valid=torch.tensor([[True, False]]),
        segments=segments,
        segment_valid=torch.tensor([[True, True]]),
        known=segments[:, 0] > 0)
    known = segment_negatives(regions, 3)
    assert known.shape == (1, 3, h, w)
    assert known[0, 0].sum() == h * w  # object half: negative of background
    assert known[0, 1].sum() == h * w  # every owned pixel is not class 1
    assert known[0, 2, :, :4].all() and not known[0, 2, :, 4:].any()
    cls = torch.full((1, 2, 4), -BIG)
    cls[0, 0, 0] = BIG  # student query 0: background
    cls[0, 1, 2] = BIG  # student query 1: class 2
    covering = torch.full((1, 2, h, w), -BIG)
    covering[0, 0] = BIG  # background mask over the whole image
    exact = covering.clone()
    exact[0, 0, :, 4:] = -BIG
    args = (regions.labels, regions.masks, regions.valid)
    loose = smc_loss(cls, covering, *args, regions.known)
    assert torch.allclose(loose, smc_loss(cls, exact, *args, regions.known),
                          atol=1e-4)
    assert smc_loss(cls, exact, *args, known) < 0.05
    assert smc_loss(cls, covering, *args, known) > 1


def test_pixel_consistency_by_hand_on_owned_pixels_only():
    # two classes, two segments on a 1 x 3 image: pixel 0 owned by a class-1
    # segment, pixel 1 by a class-0 segment, pixel 2 by nobody
    scores = torch.tensor([[[[0.2, 0.6, 0.9]], [[0.6, 0.2, 0.1]]]])
    labels = torch.tensor([[1, 0]])
    segments = torch.tensor([[[[1., 0., 0.]], [[0., 1., 0.]]]])
    loss = pixel_consistency_loss(scores, labels, segments)
    expected = -(math.log(0.6 / 0.8) + math.log(0.6 / 0.8)) / 2
    assert math.isclose(loss.item(), expected, rel_tol=1e-5)
    # the unowned pixel adds nothing, whatever the student says there
    changed = scores.clone()
    changed[..., 2] = torch.tensor([0.01, 0.99])[:, None]
    assert torch.allclose(
        pixel_consistency_loss(changed, labels, segments), loss)
    # a student that agrees everywhere scores (almost) zero
    agree = torch.tensor([[[[0., 1., 0.]], [[1., 0., 0.]]]])
    assert pixel_consistency_loss(agree, labels, segments) < 1e-4
    # no owned pixel: zero, and a gradient of zero
    scores.requires_grad_(True)
    empty = pixel_consistency_loss(scores, labels, torch.zeros_like(segments))
    empty.backward()
    assert empty == 0 and scores.grad.abs().sum() == 0


def test_label_regions_hold_each_class_of_the_label_map():
    labels = torch.tensor([[[0, 0, 2, 255], [0, 2, 2, 1]]])
    conf = torch.tensor([[[1.0, 0.5, 1.0, 1.0], [1.0, 1.0, 0.9, 1.0]]])
    regions = label_regions(labels, conf, num_queries=5, num_classes=3)
    assert regions.labels.tolist() == [[0, 1, 2, 2, 2]]
    assert regions.valid.tolist() == [[True, True, True, False, False]]
    # segments: every pixel of the class; regions: the confident ones
    assert regions.segments[0, 0].tolist() == [[1, 1, 0, 0], [1, 0, 0, 0]]
    assert regions.masks[0, 0].tolist() == [[1, 0, 0, 0], [1, 0, 0, 0]]
    assert regions.masks[0, 2].tolist() == [[0, 0, 1, 0], [0, 1, 0, 0]]
    assert regions.masks[0, 1].tolist() == [[0, 0, 0, 0], [0, 0, 0, 1]]
    assert regions.masks[0, 3:].sum() == 0
    assert regions.known.tolist() == [[[True, False, True, False],
                                       [True, True, False, True]]]
    assert regions.agreed.tolist() == [[[True, True, True, False],
                                        [True, True, True, True]]]
    low = label_regions(labels, conf, 5, 3, threshold=0.5)
    assert torch.equal(low.masks, low.segments)
    with pytest.raises(ValueError, match='at least 3 slots'):
        label_regions(labels, conf, num_queries=2, num_classes=3)
