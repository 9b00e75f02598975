"""The region-level losses of RC2L (shared/papers/004, Eq. 5-10).

`RC2L: Region-Level Contrastive and Consistency Learning for Semi-Supervised
Semantic Segmentation <https://arxiv.org/abs/2204.13314>`_ (Zhang et al.,
IJCAI 2022). The student (strong view) predicts ``Q`` regions: class logits
``p^s`` (B, Q, K+1), mask logits ``m^s`` (B, Q, h, w) and per-pixel features
``F^s`` (B, C, h, w). The teacher (weak view) gives up to ``G`` regions
``(c^t_i, m^t_i)`` (:func:`teacher_regions`), padded to a fixed ``G`` with a
validity mask so that every loss is one batched tensor program. The Hungarian
matching sigma is given as ``matched`` (B, G): the index of the student query
matched to teacher region ``i``, or -1 for padding / unmatched regions.

Each loss sums over the teacher regions and is divided by ``avg_factor``
(the number of regions, averaged over processes by
:func:`~.mask_losses.reduce_num_masks`); it defaults to the local count.

Pure torch: this module does not import mmseg.
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .mask_losses import dice_loss, float32, sigmoid_focal_loss

Number = Union[Tensor, float]


def _avg(total: Tensor, count: Tensor, avg_factor: Optional[Number]) -> Tensor:
    if avg_factor is None:
        avg_factor = count.detach().float().clamp(min=1.0)
    return total / avg_factor


@torch.no_grad()
@float32
def teacher_regions(cls_logits: Tensor,
                    mask_logits: Tensor,
                    object_threshold: float = 0.8,
                    overlap_threshold: float = 0.8,
                    mask_threshold: float = 0.5
                    ) -> Tuple[Tensor, Tensor, Tensor]:
    """Confident, non-overlapping regions of the teacher (pseudo segments).

    The rule is MaskFormer's panoptic inference (``panoptic_inference`` of
    the authors' MaskFormer code, with its default thresholds), batched:

    1. a query is kept if its most probable class (softmax over the K+1
       classes) is not 'no object' and that probability exceeds
       ``object_threshold``;
    2. every pixel goes to the kept query with the largest
       ``score * sigmoid(mask)``;
    3. the region of a kept query is the set of pixels assigned to it where
       its own ``sigmoid(mask) >= mask_threshold``; it is dropped if it is
       empty, or if the pixels assigned to it amount to less than
       ``overlap_threshold`` of the query's own mask (``sigmoid >=
       mask_threshold``), i.e. if it is mostly covered by other queries.

    The regions of one image are therefore disjoint, as section 3.2 of the
    paper assumes ("there is no overlap for different region masks within
    the same image").

    Args:
        cls_logits (Tensor): (B, Q, K+1) teacher class logits.
        mask_logits (Tensor): (B, Q, h, w) teacher mask logits.
        object_threshold (float): minimum class probability of a region.
            Default: 0.8 (MaskFormer's ``OBJECT_MASK_THRESHOLD``).
        overlap_threshold (float): minimum share of a query's mask that
            survives the pixel assignment. Default: 0.8 (MaskFormer).
        mask_threshold (float): sigmoid threshold of a mask. Default: 0.5.

    Returns:
        tuple[Tensor, Tensor, Tensor]: labels (B, Q) long in [0, K), binary
        masks (B, Q, h, w) float and validity (B, Q) bool.
    """
    num_classes = cls_logits.shape[-1] - 1
    scores, labels = cls_logits.float().softmax(-1).max(-1)
    keep = (labels != num_classes) & (scores > object_threshold)
    probs = mask_logits.float().sigmoid()
    weighted = torch.where(keep[..., None, None], scores[..., None, None] *
                           probs, probs.new_tensor(-1.0))
    owner = F.one_hot(weighted.argmax(1),
                      probs.shape[1]).permute(0, 3, 1, 2).bool()
    own = probs >= mask_threshold
    masks = owner & own
    owned_area = owner.flatten(2).sum(-1)
    own_area = own.flatten(2).sum(-1)
    valid = (keep & (own_area > 0) & (masks.flatten(2).sum(-1) > 0)
             & (owned_area >= overlap_threshold * own_area))
    masks = masks & valid[..., None, None]
    return labels.clamp(max=num_classes - 1), masks.float(), valid


@float32
def pairwise_dice_similarity(student_probs: Tensor,
                             teacher_masks: Tensor,
                             eps: float = 1.0) -> Tensor:
    """Dice similarity ``d`` of Eq. 5 between all teacher/student masks.

    ``d(m^s, m^t) = 2 |m^s n m^t| / (|m^s| + |m^t|)``, with soft student
    masks and the smoothing ``eps`` of MaskFormer's dice loss (the paper
    prints the denominator as ``|m^s| u |m^t|``; the Dice coefficient, as
    named in the text, has the sum).

    Args:
        student_probs (Tensor): (B, Q, P) student mask probabilities.
        teacher_masks (Tensor): (B, G, P) teacher masks in [0, 1].
        eps (float): smoothing. Default: 1.0.

    Returns:
        Tensor: (B, G, Q) similarities in [0, 1].
    """
    student_probs = student_probs.float()
    teacher_masks = teacher_masks.float()
    inter = torch.einsum('bgp,bqp->bgq', teacher_masks, student_probs)
    total = teacher_masks.sum(-1)[..., None] + student_probs.sum(-1)[:,
                                                                     None]
    return (2 * inter + eps) / (total + eps)


@float32
def matched_contrast(similarity: Tensor,
                     matched: Tensor,
                     temperature: float,
                     positive_in_denominator: bool = False
                     ) -> Tuple[Tensor, Tensor]:
    """The contrast of Eq. 5 and Eq. 8 over matched regions.

    For teacher region ``i`` of an image with matched student query
    ``sigma(i)``, the positive is ``s(sigma(i), i)`` and the negatives are
    ``s(j, i)`` for the other matched student queries of the same image
    (``j in ID, j != sigma(i)``)::

        l_i = -log( exp(s_pos / tau) / sum_neg exp(s_neg / tau) )
            = -s_pos / tau + logsumexp_neg(s_neg / tau)

    As printed in the paper the denominator holds the negatives only (a
    decoupled contrastive loss); the loss is then bounded below (``s`` is
    bounded) but not by 0, and undefined for a region without negatives:
    such regions contribute 0. ``positive_in_denominator=True`` gives the
    usual InfoNCE form instead, where a lone region has loss 0.

    Args:
        similarity (Tensor): (B, G, Q) similarity of teacher region ``i``
            to student query ``j``.
        matched (Tensor): (B, G) long, sigma(i) or -1.
        temperature (float): tau.
        positive_in_denominator (bool): add the positive to the denominator
            (InfoNCE). Default: False (Eq. 5/8 as printed).

    Returns:
        tuple[Tensor, Tensor]: per-region losses (B, G) (0 where not
        counted) and the mask (B, G) bool of the regions counted.
    """
    similarity = similarity.float() / temperature
    num_queries = similarity.shape[-1]
    is_matched = matched >= 0
    index = matched.clamp(min=0)
    # ID: the student queries matched to some teacher region of the image
    in_id = torch.zeros(
        matched.shape[0], num_queries + 1, dtype=torch.bool,
        device=matched.device)
    in_id.scatter_(1, torch.where(is_matched, matched, num_queries), True)
    in_id = in_id[:, :num_queries]
    positive = similarity.gather(-1, index[..., None])[..., 0]
    is_positive = F.one_hot(index, num_queries).bool()
    negative = in_id[:, None, :] & ~is_positive
    if positive_in_denominator:
        negative = negative | is_positive
    has_negative = negative.any(-1)
    # rows without negatives are filled with zeros (not -inf) so that the
    # discarded logsumexp stays finite and its gradient is not NaN
    logits = similarity.masked_fill(~negative, float('-inf')).masked_fill(
        ~has_negative[..., None], 0.0)
    denominator = torch.logsumexp(logits, dim=-1)
    counted = is_matched & has_negative
    loss = torch.where(counted, denominator - positive,
                       similarity.new_zeros(()))
    return loss, counted


@float32
def rmc_loss(student_mask_logits: Tensor,
             teacher_masks: Tensor,
             matched: Tensor,
             temperature: float = 0.1,
             eps: float = 1.0,
             positive_in_denominator: bool = False,
             avg_factor: Optional[Number] = None) -> Tensor:
    """Region Mask Contrastive loss, Eq. 5.

    Args:
        student_mask_logits (Tensor): (B, Q, h, w) student mask logits.
        teacher_masks (Tensor): (B, G, h, w) binary teacher masks.
        matched (Tensor): (B, G) long, sigma(i) or -1.
        temperature (float): tau_m. Default: 0.1.
        eps (float): smoothing of the Dice similarity. Default: 1.0.
        positive_in_denominator (bool): see :func:`matched_contrast`.
            Default: False.
        avg_factor (Tensor | float, optional): normaliser. Default: the
            number of matched teacher regions.

    Returns:
        Tensor: scalar loss.
    """
    similarity = pairwise_dice_similarity(
        student_mask_logits.flatten(2).float().sigmoid(),
        teacher_masks.flatten(2), eps)
    loss, _ = matched_contrast(similarity, matched, temperature,
                               positive_in_denominator)
    return _avg(loss.sum(), (matched >= 0).sum(), avg_factor)


@float32
def region_features(masks: Tensor, features: Tensor) -> Tensor:
    """Region features ``GAP(m . F)`` of Eq. 6 and Eq. 7.

    Args:
        masks (Tensor): (B, M, P) mask weights in [0, 1].
        features (Tensor): (B, C, P) per-pixel features.

    Returns:
        Tensor: (B, M, C) the masked features averaged over all P pixels.
    """
    return torch.einsum('bmp,bcp->bmc', masks.float(),
                        features.float()) / masks.shape[-1]


@float32
def rfc_loss(student_mask_logits: Tensor,
             teacher_masks: Tensor,
             features: Tensor,
             matched: Tensor,
             temperature: float = 0.1,
             detach_target: bool = True,
             positive_in_denominator: bool = False,
             avg_factor: Optional[Number] = None) -> Tensor:
    """Region Feature Contrastive loss, Eq. 6-8.

    ``r^s_j = GAP(sigmoid(m^s_j) . F^s)`` (Eq. 6) and ``r^t_i = GAP(m^t_i .
    F^s)`` (Eq. 7), both from the student's per-pixel features, contrasted
    by cosine similarity with temperature tau_f (Eq. 8). GAP averages over
    all pixels; the cosine is invariant to that scale, so it equals the
    mask-weighted mean. The student masks enter soft (sigmoid), so the loss
    also trains the masks.

    Args:
        student_mask_logits (Tensor): (B, Q, h, w) student mask logits.
        teacher_masks (Tensor): (B, G, h, w) binary teacher masks.
        features (Tensor): (B, C, h, w) student per-pixel features F^s.
        matched (Tensor): (B, G) long, sigma(i) or -1.
        temperature (float): tau_f. Default: 0.1.
        detach_target (bool): stop the gradient through the target ``r^t``
            (the paper does not say; the target side of a teacher/student
            pair is usually not back-propagated). Default: True.
        positive_in_denominator (bool): see :func:`matched_contrast`.
            Default: False.
        avg_factor (Tensor | float, optional): normaliser. Default: the
            number of matched teacher regions.

    Returns:
        Tensor: scalar loss.
    """
    feats = features.flatten(2)
    student = region_features(student_mask_logits.flatten(2).float().sigmoid(),
                              feats)
    target = region_features(teacher_masks.flatten(2), feats)
    if detach_target:
        target = target.detach()
    similarity = torch.einsum('bgc,bqc->bgq', F.normalize(target, dim=-1),
                              F.normalize(student, dim=-1))
    loss, _ = matched_contrast(similarity, matched, temperature,
                               positive_in_denominator)
    return _avg(loss.sum(), (matched >= 0).sum(), avg_factor)


@float32
def rcc_loss(student_cls_logits: Tensor,
             teacher_labels: Tensor,
             matched: Tensor,
             avg_factor: Optional[Number] = None) -> Tensor:
    """Region Class Consistency loss, Eq. 9: ``-log p^s_sigma(i)(c^t_i)``.

    Args:
        student_cls_logits (Tensor): (B, Q, K+1) student class logits.
        teacher_labels (Tensor): (B, G) long teacher classes in [0, K).
        matched (Tensor): (B, G) long, sigma(i) or -1.
        avg_factor (Tensor | float, optional): normaliser. Default: the
            number of matched teacher regions.

    Returns:
        Tensor: scalar loss.
    """
    is_matched = matched >= 0
    logits = student_cls_logits.float().gather(
        1, matched.clamp(min=0)[..., None].expand(
            -1, -1, student_cls_logits.shape[-1]))
    ce = F.cross_entropy(
        logits.transpose(1, 2), teacher_labels, reduction='none')
    return _avg((ce * is_matched).sum(), is_matched.sum(), avg_factor)


@float32
def union_logits(mask_logits: Tensor, member: Tensor,
                 eps: float = 1e-6) -> Tensor:
    """Logits of the union (probabilistic OR) of groups of soft masks.

    ``U = 1 - prod_j (1 - sigmoid(m_j))`` over the members ``j`` of each
    group, returned as ``logit(U) = S + log(1 - exp(-S))`` with ``S =
    sum_j softplus(m_j)`` (stable; one member gives back its own logit).

    Args:
        mask_logits (Tensor): (B, Q, P) mask logits.
        member (Tensor): (B, Q, K) membership of query ``q`` in group ``k``
            (0/1, no gradient).
        eps (float): lower bound of ``S`` (an empty group has logit
            ``log(eps)``). Default: 1e-6.

    Returns:
        Tensor: (B, K, P) union logits.
    """
    total = torch.einsum('bqk,bqp->bkp', member.float(),
                         F.softplus(mask_logits.float())).clamp(min=eps)
    return total + torch.log(-torch.expm1(-total))


@float32
def smc_loss(student_cls_logits: Tensor,
             student_mask_logits: Tensor,
             teacher_labels: Tensor,
             teacher_masks: Tensor,
             teacher_valid: Tensor,
             focal_weight: float = 20.0,
             dice_weight: float = 1.0,
             focal_alpha: float = 0.25,
             focal_gamma: float = 2.0,
             avg_factor: Optional[Number] = None) -> Tensor:
    """Semantic Mask Consistency loss, Eq. 10.

    ``Union({m^s}, c)`` merges the student masks whose predicted class
    (argmax over K+1; 'no object' joins no union) is ``c`` into one region
    (:func:`union_logits`), and ``L_mask`` is MaskFormer's
    ``focal_weight * focal + dice_weight * dice`` against the teacher's
    semantic mask of class ``c``. Eq. 10 sums over teacher regions ``i``
    with target ``m^t_i``; when several teacher regions share a class, the
    student union of that class would be penalised for covering the other
    ones, so the target here is the union of the teacher regions of class
    ``c`` (the "pseudo semantic mask" of section 3.3) and the sum runs over
    the classes present. With one teacher region per class the two agree.

    Args:
        student_cls_logits (Tensor): (B, Q, K+1) student class logits.
        student_mask_logits (Tensor): (B, Q, h, w) student mask logits.
        teacher_labels (Tensor): (B, G) long teacher classes in [0, K).
        teacher_masks (Tensor): (B, G, h, w) binary teacher masks.
        teacher_valid (Tensor): (B, G) bool teacher regions to use.
        focal_weight (float): weight of the focal term. Default: 20.0
            (MaskFormer's mask weight).
        dice_weight (float): weight of the dice term. Default: 1.0.
        focal_alpha (float): focal alpha. Default: 0.25.
        focal_gamma (float): focal gamma. Default: 2.0.
        avg_factor (Tensor | float, optional): normaliser. Default: the
            number of (image, class) pairs present.

    Returns:
        Tensor: scalar loss.
    """
    num_classes = student_cls_logits.shape[-1] - 1
    member = F.one_hot(student_cls_logits.detach().argmax(-1),
                       num_classes + 1)[..., :num_classes]
    union = union_logits(student_mask_logits.flatten(2), member)
    teacher_cls = F.one_hot(teacher_labels, num_classes).float() * \
        teacher_valid[..., None].float()
    semantic = torch.einsum('bgk,bgp->bkp', teacher_cls,
                            teacher_masks.flatten(2).float()).clamp(max=1.0)
    present = (teacher_cls.sum(1) > 0).float()
    count = present.sum()
    num = count.detach().clamp(min=1.0) if avg_factor is None else avg_factor
    focal = sigmoid_focal_loss(union, semantic, num, present, focal_alpha,
                               focal_gamma)
    dice = dice_loss(union, semantic, num, present)
    return focal_weight * focal + dice_weight * dice
