"""RMC and RFC as the RC2L paper prints them (``form='paper'``, Eq. 5-8)."""
import math

import pytest
import torch

from mmseg_reco.models.losses.region_losses import (binary_masks,
                                                    matched_contrast,
                                                    nonempty_matched,
                                                    pairwise_dice_similarity,
                                                    rfc_loss, rmc_loss)


def _logit(p):
    return math.log(p / (1 - p))


# one image of 1 x 4 pixels, two teacher regions (pixels 0-1 and 2-3),
# teacher region i matched to student query i
TEACHER = torch.tensor([[[[1., 1., 0., 0.]], [[0., 0., 1., 1.]]]])
MATCHED = torch.tensor([[0, 1]])
# per-pixel features (C = 2): (1, 0), (1, 0), (0, 1), (1, 1)
FEATURES = torch.tensor([[[[1., 1., 0., 1.]], [[0., 0., 1., 1.]]]])
# binary at 0.5: query 0 -> pixels 0-2, query 1 -> pixel 3
RFC_LOGITS = torch.tensor([[[[3.0, 0.5, 0.1, -4.0]], [[-3.0, -1.0, -0.2,
                                                        2.0]]]])


def test_rmc_paper_form_is_eq5_by_hand():
    probs = torch.tensor([[[[0.75, 0.75, 0.25, 0.25]],
                           [[0.25, 0.5, 0.5, 0.5]]]])
    logits = probs.apply_(_logit).requires_grad_()
    tau = 0.5
    # |s0| = 2, |s1| = 1.75, |t0| = |t1| = 2
    d00 = 2 * 1.5 / 4  # 0.75
    d10 = 2 * 0.75 / 3.75  # 0.4
    d01 = 2 * 0.5 / 4  # 0.25
    d11 = 2 * 1.0 / 3.75  # 0.5333
    # l_i = -d(sigma(i), i) / tau + log(exp(d(j, i) / tau)), j the other
    expected = ((-d00 + d10) / tau + (-d11 + d01) / tau) / 2
    loss = rmc_loss(logits, TEACHER, MATCHED, temperature=tau, form='paper')
    assert math.isclose(loss.item(), expected, rel_tol=1e-5)
    assert math.isclose(expected, -0.6333333, rel_tol=1e-6)
    # the smoothed 'printed' form is another number; the soft masks carry
    # RMC's gradient to the mask logits
    printed = rmc_loss(logits, TEACHER, MATCHED, temperature=tau,
                       form='printed')
    assert abs(printed.item() - expected) > 0.05
    (grad, ) = torch.autograd.grad(loss, logits)
    assert grad.abs().sum() > 0


def test_rfc_paper_form_is_eq8_by_hand():
    tau = 0.1
    # r = GAP(m . F): s0 ~ (2, 1), s1 ~ (1, 1), t0 ~ (2, 0), t1 ~ (1, 2)
    cos_s0_t0 = 2 / math.sqrt(5)
    cos_s1_t0 = 1 / math.sqrt(2)
    cos_s1_t1 = 3 / math.sqrt(10)
    cos_s0_t1 = 4 / 5
    expected = ((-cos_s0_t0 + cos_s1_t0) / tau +
                (-cos_s1_t1 + cos_s0_t1) / tau) / 2
    loss = rfc_loss(RFC_LOGITS, TEACHER, FEATURES, MATCHED, temperature=tau,
                    form='paper')
    assert math.isclose(loss.item(), expected, rel_tol=1e-5)
    assert math.isclose(expected, -1.6800185, rel_tol=1e-6)
    # the soft masks of the 'printed' form give another value
    printed = rfc_loss(RFC_LOGITS, TEACHER, FEATURES, MATCHED,
                       temperature=tau, form='printed')
    assert abs(printed.item() - expected) > 0.1
    # the binary masks are the 0.5 threshold, zero on ignored pixels
    known = torch.tensor([[[True, True, False, True]]])
    assert binary_masks(RFC_LOGITS, known).tolist() == [[[1., 1., 0., 0.],
                                                         [0., 0., 0., 1.]]]


def test_rfc_gradient_at_the_mask_logits_is_zero_only_in_the_paper_form():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 6, 6, requires_grad=True)
    feats = torch.randn(2, 8, 6, 6, requires_grad=True)
    teacher = torch.zeros(2, 3, 6, 6)
    teacher[:, 0, :, :2] = 1
    teacher[:, 1, :, 2:4] = 1
    teacher[:, 2, :, 4:] = 1
    matched = torch.tensor([[1, 3, 0], [4, 2, 1]])
    for form in ('paper', 'printed', 'bounded'):
        for detach_target in (True, False):
            loss = rfc_loss(logits, teacher, feats, matched, form=form,
                            detach_target=detach_target)
            grad_logits, grad_feats = torch.autograd.grad(
                loss, (logits, feats), allow_unused=True,
                materialize_grads=True)
            assert grad_feats.abs().sum() > 0
            if form == 'paper':
                assert torch.equal(grad_logits, torch.zeros_like(logits))
            else:
                assert grad_logits.abs().sum() > 0


def test_paper_forms_are_bounded_and_reach_the_bounds():
    tau = 0.1
    # features (1, 0) on pixels 0-1 and (-1, 0) on pixels 2-3; the student
    # reproduces the teacher: cos = 1 for the positive, -1 for the negative
    feats = torch.tensor([[[[1., 1., -1., -1.]], [[0., 0., 0., 0.]]]])
    exact = TEACHER * 20 - 10
    loss = rfc_loss(exact, TEACHER, feats, MATCHED, temperature=tau,
                    form='paper')
    assert math.isclose(loss.item(), -2 / tau, rel_tol=1e-5)
    # RMC: d = 1 for the positive and ~0 for the negative: -1 / tau
    rmc = rmc_loss(exact, TEACHER, MATCHED, temperature=tau, form='paper')
    assert math.isclose(rmc.item(), -1 / tau, rel_tol=1e-3)
    # random masks and features: every region within the printed bounds
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        logits = torch.randn(1, 4, 1, 12, generator=gen) * 3
        teacher = torch.zeros(1, 3, 1, 12)
        for g in range(3):
            teacher[0, g, 0, 4 * g:4 * g + 4] = 1
        feats = torch.randn(1, 5, 1, 12, generator=gen)
        matched = torch.randperm(4, generator=gen)[:3][None]
        # three regions, two negatives each: per-region loss in
        # [-2 / tau, 2 / tau + log 2]; the mean over counted regions too
        value = rfc_loss(logits, teacher, feats, matched, temperature=tau,
                         form='paper')
        assert -2 / tau - 1e-4 <= value.item() <= 2 / tau + math.log(2)
        value = rmc_loss(logits, teacher, matched, temperature=tau,
                         form='paper')
        assert -1 / tau - 1e-4 <= value.item() <= 1 / tau + math.log(2)


def test_rfc_paper_guard_drops_empty_binary_masks():
    tau = 0.1
    teacher = torch.zeros(1, 3, 1, 6)
    for g in range(3):
        teacher[0, g, 0, 2 * g:2 * g + 2] = 1
    feats = torch.randn(1, 4, 1, 6, generator=torch.Generator().manual_seed(1))
    feats.requires_grad_()
    logits = teacher * 8 - 4
    logits[0, 2] = -5.0  # query 2's binary mask is empty
    matched = torch.tensor([[0, 1, 2]])
    assert nonempty_matched(matched, binary_masks(logits),
                            teacher.flatten(2)).tolist() == [[0, 1, -1]]
    guarded = rfc_loss(logits, teacher, feats, matched, temperature=tau,
                       form='paper')
    # the same as region 2 unmatched: neither an anchor nor a negative
    without = rfc_loss(logits, teacher, feats, torch.tensor([[0, 1, -1]]),
                       temperature=tau, form='paper')
    assert torch.isfinite(guarded) and torch.allclose(guarded, without)
    (grad, ) = torch.autograd.grad(guarded, feats)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    # an empty teacher mask is dropped the same way
    no_target = teacher.clone()
    no_target[0, 1] = 0
    assert nonempty_matched(matched, binary_masks(teacher * 8 - 4),
                            no_target.flatten(2)).tolist() == [[0, -1, 2]]
    # every pair but one empty: a lone region, no term, finite gradient
    alone = logits.clone()
    alone[0, 1] = -5.0
    lone = rfc_loss(alone, teacher, feats, matched, temperature=tau,
                    form='paper')
    assert lone.item() == 0
    (grad, ) = torch.autograd.grad(lone, feats, allow_unused=True,
                                   materialize_grads=True)
    assert torch.isfinite(grad).all()
    # a zero feature under a non-empty mask: cosine 0, finite
    zero = torch.zeros(1, 4, 1, 6, requires_grad=True)
    value = rfc_loss(logits, teacher, zero, torch.tensor([[0, 1, -1]]),
                     temperature=tau, form='paper')
    assert value.item() == 0
    (grad, ) = torch.autograd.grad(value, zero)
    assert torch.isfinite(grad).all()


def test_rmc_paper_guards_lone_region_and_empty_masks():
    tau = 0.1
    logits = torch.randn(1, 3, 1, 4, requires_grad=True)
    # a lone region has an empty denominator (+inf as printed): not counted
    lone = rmc_loss(logits, TEACHER, torch.tensor([[1, -1]]), temperature=tau,
                    form='paper')
    assert lone.item() == 0
    (grad, ) = torch.autograd.grad(lone, logits, allow_unused=True,
                                   materialize_grads=True)
    assert torch.isfinite(grad).all()
    # unsmoothed Dice of two empty masks: 0, not 0 / 0
    empty = torch.zeros(1, 1, 4)
    assert pairwise_dice_similarity(empty, empty, eps=0.0).item() == 0
    # a teacher region with no pixel and a student with no known pixel
    teacher = TEACHER.clone()
    teacher[0, 1] = 0
    value = rmc_loss(logits, teacher, MATCHED, known=torch.zeros(1, 1, 4,
                                                                 dtype=bool),
                     temperature=tau, form='paper')
    assert torch.isfinite(value)
    (grad, ) = torch.autograd.grad(value, logits)
    assert torch.isfinite(grad).all()


@pytest.mark.parametrize('form', ['paper', 'printed'])
def test_paper_denominator_holds_only_the_other_matched_regions(form):
    # three student queries, query 2 unmatched: it is not a negative
    logits = torch.tensor([[[[4., 4., -4., -4.]], [[-4., -4., 4., 4.]],
                            [[4., 4., 4., 4.]]]])
    with_extra = rmc_loss(logits, TEACHER, MATCHED, form=form)
    without = rmc_loss(logits[:, :2], TEACHER, MATCHED, form=form)
    assert torch.allclose(with_extra, without)
    probs = logits.sigmoid().flatten(2)
    sim = pairwise_dice_similarity(probs, TEACHER.flatten(2),
                                   0.0 if form == 'paper' else 1.0)
    loss, counted = matched_contrast(sim, MATCHED, 0.1)
    assert counted.all()
    assert torch.allclose(with_extra, loss.mean())
