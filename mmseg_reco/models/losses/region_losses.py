"""The region-level losses of RC2L, Eq. 5-10.

`RC2L: Region-Level Contrastive and Consistency Learning for Semi-Supervised
Semantic Segmentation <https://arxiv.org/abs/2204.13314>`_ (Zhang et al.,
IJCAI 2022). The student (strong view) predicts ``Q`` regions: class logits
``p^s`` (B, Q, K+1), mask logits ``m^s`` (B, Q, h, w) and per-pixel features
``F^s`` (B, C, h, w). The teacher (weak view) gives its regions
``(c^t_i, m^t_i)`` (:func:`teacher_regions`), one slot per teacher query
(``G = Q``) with a validity mask, so that every loss is one batched tensor
program; moved into a mixed strong view (``RC2LTerm.view_regions``,
:func:`slot_regions`), ``G = 2Q``: the own image's queries, then the
mixing partner's. The Hungarian matching sigma is given as ``matched``
(B, G): the index of the student query matched to teacher region ``i``, or
-1 for empty slots and unmatched regions.

Pixels outside every teacher region are *ignored* (``known`` is False
there): the teacher is unsure of them, so they are neither positives nor
negatives of any mask, feature or semantic target.

Each loss sums over the teacher regions and is divided by ``avg_factor``;
it defaults to the local count of the regions that contribute (for the
contrastive losses, the regions that have at least one negative).

Pure torch: this module does not import mmseg.
"""
from typing import NamedTuple, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .mask_losses import dice_loss, float32, sigmoid_focal_loss

Number = Union[Tensor, float]

#: forms of the Region Mask Contrastive loss (:func:`rmc_loss`)
RMC_FORMS = ('infonce', 'printed', 'paper')
#: forms of the Region Feature Contrastive loss (:func:`rfc_loss`)
RFC_FORMS = ('bounded', 'printed', 'paper')

#: guard of divisions by mask areas
_EPS = 1e-6


def one_hot(index: Tensor, num: int) -> Tensor:
    """``F.one_hot`` as a comparison (bool), without its range check, which
    copies the index's extremes to the host."""
    return index[..., None] == torch.arange(num, device=index.device)


def _avg(total: Tensor, count: Tensor, avg_factor: Optional[Number]) -> Tensor:
    if avg_factor is None:
        avg_factor = count.detach().float().clamp(min=1.0)
    return total / avg_factor


class TeacherRegions(NamedTuple):
    """The teacher's regions of a batch, one slot per teacher query.

    Attributes:
        labels (Tensor): (B, Q) long classes in [0, K) (the query's most
            probable class; meaningless where no segment exists).
        masks (Tensor): (B, Q, h, w) float binary region masks, zero for
            slots that are not ``valid``: the loss targets.
        valid (Tensor): (B, Q) bool, the confident regions.
        segments (Tensor): (B, Q, h, w) float binary masks of the pixels
            each object query owns: the regions plus the segments of
            unconfident owners (the matching targets).
        segment_valid (Tensor): (B, Q) bool, the non-empty segments.
        known (Tensor): (B, h, w) bool, the pixels inside a region; the
            others are ignored by the losses.
        agreed (Tensor, optional): (B, h, w) bool, the segment pixels whose
            owner's class is the teacher's semantic argmax with enough
            confidence (a region's pixels and those of unconfident owners):
            the pixels :func:`pixel_consistency_loss` uses. None: every
            segment pixel.
    """
    labels: Tensor
    masks: Tensor
    valid: Tensor
    segments: Tensor
    segment_valid: Tensor
    known: Tensor
    agreed: Optional[Tensor] = None


@torch.no_grad()
@float32
def teacher_regions(cls_logits: Tensor,
                    mask_logits: Tensor,
                    object_threshold: float = 0.8,
                    semantic_threshold: float = 0.6,
                    overlap_threshold: float = 0.8,
                    mask_threshold: float = 0.5) -> TeacherRegions:
    """Confident, disjoint regions of the teacher (the pseudo segments).

    The paper gives the teacher's pseudo-labels ``z^t = {(c^t_i, m^t_i)}``
    (section 3.2) without the rule that makes them; this follows MaskFormer
    (Cheng et al., NeurIPS 2021) inference, batched:

    1. **Owner.** Every pixel goes to the query with the largest
       ``score * sigmoid(mask)`` among *all* queries whose most probable
       class (softmax over K+1) is not 'no object' (MaskFormer's inference
       with its code default ``object_mask_threshold=0``). A query's
       *segment* is the set of pixels it owns where its own ``sigmoid(mask)
       >= mask_threshold``.
    2. **Agreement.** A pixel stays in its owner's segment only if the
       owner's class is the argmax of MaskFormer's semantic inference
       ``S_k = sum_q p_q(k) sigmoid(m_q)`` at that pixel, and the pixel's
       semantic confidence ``S_1 / (S_1 + S_2)`` (its two largest scores)
       is at least ``semantic_threshold``. The runner-up, not the sum over
       all K classes, is the reference, because every query spreads a
       little probability over all classes and that sum grows with K and Q.
    3. **Confidence.** The segment of a query is a *region* if the query's
       class probability exceeds ``object_threshold``, the segment is not
       empty, and the query owns at least ``overlap_threshold`` of its own
       mask (MaskFormer's panoptic rule against masks mostly covered by
       others).

    Pixels owned by an unconfident query, failing the agreement, or owned
    by nobody are *ignored* (``known`` False); they are never handed to a
    confident query. Every pixel of a region therefore has the semantic
    argmax of the teacher equal to the region's class, and the regions of
    an image are disjoint, as section 3.2 of the paper assumes ("there is
    no overlap for different region masks within the same image").

    Args:
        cls_logits (Tensor): (B, Q, K+1) teacher class logits.
        mask_logits (Tensor): (B, Q, h, w) teacher mask logits.
        object_threshold (float): class probability above which a query's
            segment is a region. Default: 0.8 (MaskFormer's COCO panoptic
            value; its code default is 0.0).
        semantic_threshold (float): minimum semantic confidence
            ``S_1 / (S_1 + S_2)`` of a region pixel, in [0.5, 1] (0.5 or
            less: any). Default: 0.6 (the class scores at least 1.5 times
            the runner-up).
        overlap_threshold (float): minimum share of a query's own mask
            (``sigmoid >= mask_threshold``) that it owns. Default: 0.8
            (MaskFormer).
        mask_threshold (float): sigmoid threshold of a mask. Default: 0.5.

    Returns:
        TeacherRegions: labels (B, Q), masks (B, Q, h, w), valid (B, Q),
        segments (B, Q, h, w), segment_valid (B, Q) and known (B, h, w).
    """
    num_queries = cls_logits.shape[1]
    num_classes = cls_logits.shape[-1] - 1
    prob = cls_logits.float().softmax(-1)
    scores, labels = prob.max(-1)
    is_object = labels != num_classes
    probs = mask_logits.float().sigmoid()

    # 1. owner among every object query
    weighted = torch.where(is_object[..., None, None],
                           scores[..., None, None] * probs,
                           probs.new_tensor(-1.0))
    owner = weighted.argmax(1)
    owned = one_hot(owner, num_queries).permute(0, 3, 1, 2)
    owned = owned & is_object[..., None, None]
    own = probs >= mask_threshold
    segments = owned & own

    # 2. agreement with the semantic inference
    semantic = torch.einsum('bqk,bqhw->bkhw', prob[..., :num_classes], probs)
    top, top_label = semantic.topk(min(2, num_classes), dim=1)
    if num_classes > 1:
        confidence = top[:, 0] / (top[:, 0] + top[:, 1]).clamp(min=_EPS)
    else:
        confidence = torch.ones_like(top[:, 0])
    owner_label = labels.gather(1, owner.flatten(1)).view_as(owner)
    agree = ((owner_label == top_label[:, 0]) &
             (confidence >= semantic_threshold))

    # 3. regions of confident queries
    confident = is_object & (scores > object_threshold)
    masks = segments & agree[:, None] & confident[..., None, None]
    owned_area = owned.flatten(2).sum(-1)
    own_area = own.flatten(2).sum(-1)
    valid = (confident & masks.flatten(2).any(-1)
             & (owned_area >= overlap_threshold * own_area))
    masks = masks & valid[..., None, None]
    return TeacherRegions(
        labels=labels.clamp(max=num_classes - 1),
        masks=masks.float(),
        valid=valid,
        segments=segments.float(),
        segment_valid=segments.flatten(2).any(-1),
        known=masks.any(1),
        agreed=segments.any(1) & agree)


def slot_regions(slot: Tensor, known: Tensor, labels: Tensor,
                 valid: Tensor, agreed: Tensor) -> TeacherRegions:
    """Regions from a per-pixel slot map.

    Slot ``g``'s segment is the pixels whose slot is ``g``; its region is
    those of them that are ``known``, if the slot is ``valid`` and some are
    left.

    Args:
        slot (Tensor): (B, h, w) long slot of each pixel; a value outside
            [0, G) belongs to no segment.
        known (Tensor): (B, h, w) bool, the pixels a region may hold.
        labels (Tensor): (B, G) long classes of the slots.
        valid (Tensor): (B, G) bool, the slots that may be regions.
        agreed (Tensor): (B, h, w) bool, :attr:`TeacherRegions.agreed`.

    Returns:
        TeacherRegions: G slots at (h, w).
    """
    segments = one_hot(slot, labels.shape[1]).permute(0, 3, 1, 2)
    masks = segments & known[:, None] & valid[..., None, None]
    return TeacherRegions(
        labels=labels,
        masks=masks.float(),
        valid=valid & masks.flatten(2).any(-1),
        segments=segments.float(),
        segment_valid=segments.flatten(2).any(-1),
        known=masks.any(1),
        agreed=agreed)


def class_slots(num_images: int, num_queries: int, num_classes: int,
                device=None) -> Tuple[Tensor, Tensor]:
    """The slots of :func:`label_regions`: slot ``k < K`` is class ``k``.

    Args:
        num_images (int): B.
        num_queries (int): Q, the number of slots.
        num_classes (int): K.
        device (torch.device, optional): device of the result.

    Returns:
        tuple[Tensor, Tensor]: labels (B, Q) long (slots from K on repeat
        class K - 1) and valid (B, Q) bool (the first K slots).
    """
    slots = torch.arange(num_queries, device=device)
    return (slots.clamp(max=num_classes - 1).expand(num_images, -1),
            (slots < num_classes).expand(num_images, -1))


@torch.no_grad()
def label_regions(labels: Tensor,
                  confidence: Tensor,
                  num_queries: int,
                  num_classes: int,
                  threshold: float = 1.0) -> TeacherRegions:
    """Class regions of a pixel label map, in the slots of
    :func:`teacher_regions`.

    Slot ``k < K`` holds the pixels labelled ``k`` (its segment); those
    whose confidence is at least ``threshold`` form its region. Slots ``K``
    to ``Q - 1`` stay empty. With the ground truth as labels (confidence
    1) the regions are the true segments of each class: the regions a
    perfect teacher would give.

    Args:
        labels (Tensor): (B, h, w) long labels; values outside [0, K)
            (ignore) belong to no segment.
        confidence (Tensor): (B, h, w) their confidence.
        num_queries (int): Q, the number of slots; at least K.
        num_classes (int): K.
        threshold (float): minimum confidence of a region pixel.
            Default: 1.0 (known labels only).

    Returns:
        TeacherRegions: labels (B, Q), masks (B, Q, h, w), valid (B, Q),
        segments (B, Q, h, w), segment_valid (B, Q), known (B, h, w) and
        agreed (B, h, w) (every segment pixel).
    """
    if num_queries < num_classes:
        raise ValueError(f'label_regions puts one class per slot: it needs '
                         f'at least {num_classes} slots, got {num_queries}')
    has = (labels >= 0) & (labels < num_classes)
    slot = torch.where(has, labels, torch.full_like(labels, num_queries))
    slot_labels, valid = class_slots(labels.shape[0], num_queries, num_classes,
                                     labels.device)
    return slot_regions(slot, confidence >= threshold, slot_labels, valid, has)


def contrast_members(matched: Tensor,
                     labels: Optional[Tensor] = None) -> Tensor:
    """The matched regions that have a negative (another matched region).

    Eq. 5 and Eq. 8 contrast a region against the other matched regions of
    its image; a region alone in its image has no negative, so its loss is
    0 in either form and it is not counted. With ``labels`` only regions of
    another class are negatives (:func:`matched_contrast`'s ``labels``),
    so a region whose other regions all share its class is not counted
    either.

    Args:
        matched (Tensor): (B, G) long, sigma(i) or -1.
        labels (Tensor, optional): (B, G) long region classes.
            Default: None (every other matched region is a negative).

    Returns:
        Tensor: (B, G) bool.
    """
    is_matched = matched >= 0
    if labels is None:
        return is_matched & (is_matched.sum(1, keepdim=True) > 1)
    other = ((labels[:, :, None] != labels[:, None, :]) &
             is_matched[:, None, :])
    return is_matched & other.any(-1)


@float32
def pairwise_dice_similarity(student_probs: Tensor,
                             teacher_masks: Tensor,
                             eps: float = 1.0) -> Tensor:
    """Dice similarity ``d`` of Eq. 5 between all teacher/student masks.

    ``d(m^s, m^t) = (2 |m^s n m^t| + eps) / (|m^s| + |m^t| + eps)``, with
    soft student masks and the smoothing ``eps`` of MaskFormer's dice loss
    (the paper prints the denominator as ``|m^s| u |m^t|``; the Dice
    coefficient, as named in the text, has the sum). ``eps=0`` is the
    unsmoothed coefficient; two empty masks then have similarity 0 (the
    denominator is clamped at 1e-6).

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
    return (2 * inter + eps) / (total + eps).clamp(min=_EPS)


@float32
def matched_contrast(similarity: Tensor,
                     matched: Tensor,
                     temperature: float,
                     positive_in_denominator: bool = False,
                     labels: Optional[Tensor] = None
                     ) -> Tuple[Tensor, Tensor]:
    """The contrast of Eq. 5 and Eq. 8 over matched regions.

    For teacher region ``i`` of an image with matched student query
    ``sigma(i)``, the positive is ``s(sigma(i), i)`` and the negatives are
    ``s(j, i)`` for the other matched student queries of the same image
    (``j in ID, j != sigma(i)``)::

        l_i = -log( exp(s_pos / tau) / sum_neg exp(s_neg / tau) )
            = -s_pos / tau + logsumexp_neg(s_neg / tau)

    As printed in the paper the denominator holds the negatives only (a
    decoupled contrastive loss): bounded below but not by 0, and its
    gradient with respect to ``s`` is ``1 / tau`` whatever the margin.
    ``positive_in_denominator=True`` gives InfoNCE: non-negative, with a
    gradient that vanishes once the positive dominates. A region without
    negatives (:func:`contrast_members`) has loss 0 and is not counted.
    With ``labels`` the negatives of region ``i`` are only the student
    queries matched to regions of *another* class than ``c^t_i``.

    Args:
        similarity (Tensor): (B, G, Q) similarity of teacher region ``i``
            to student query ``j``.
        matched (Tensor): (B, G) long, sigma(i) or -1.
        temperature (float): tau.
        positive_in_denominator (bool): add the positive to the denominator
            (InfoNCE). Default: False (Eq. 5/8 as printed).
        labels (Tensor, optional): (B, G) long classes ``c^t_i`` of the
            regions; given, regions of the same class are not negatives of
            each other. Default: None (every other matched region, as
            printed).

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
    is_positive = one_hot(index, num_queries)
    negative = in_id[:, None, :] & ~is_positive
    if labels is not None:
        # the class of the region each student query is matched to
        query_label = matched.new_full((matched.shape[0], num_queries + 1),
                                       -1)
        query_label.scatter_(1, torch.where(is_matched, matched, num_queries),
                             torch.where(is_matched, labels, -1))
        query_label = query_label[:, :num_queries]
        negative = negative & (query_label[:, None, :] != labels[..., None])
    counted = is_matched & negative.any(-1)
    if positive_in_denominator:
        negative = negative | is_positive
    # rows without negatives are filled with zeros (not -inf) so that the
    # discarded logsumexp stays finite and its gradient is not NaN
    logits = similarity.masked_fill(~negative, float('-inf')).masked_fill(
        ~counted[..., None], 0.0)
    denominator = torch.logsumexp(logits, dim=-1)
    loss = torch.where(counted, denominator - positive,
                       similarity.new_zeros(()))
    return loss, counted


def _known_weight(known: Optional[Tensor], like: Tensor) -> Tensor:
    """(B, 1, P) float weight of the known pixels (all 1 if None); a
    class-wise (B, K, h, w) ``known`` gives (B, K, P)."""
    if known is None:
        return like.new_ones(like.shape[0], 1, like.shape[-1])
    if known.dim() == 4:
        return known.flatten(2).to(like.dtype)
    return known.flatten(1)[:, None].to(like.dtype)


def segment_owner_labels(segments: Tensor,
                         labels: Tensor) -> Tuple[Tensor, Tensor]:
    """Per pixel, whether a teacher segment owns it and that segment's
    class.

    Args:
        segments (Tensor): (B, G, h, w) binary, disjoint segment masks.
        labels (Tensor): (B, G) long segment classes.

    Returns:
        tuple[Tensor, Tensor]: owned (B, h, w) bool and the owner's class
        (B, h, w) long (the first slot's class where nothing owns it).
    """
    segments = segments > 0
    slot = segments.float().argmax(1)
    return segments.any(1), labels.gather(1, slot.flatten(1)).view_as(slot)


def segment_negatives(regions: 'TeacherRegions',
                      num_classes: int) -> Tensor:
    """Class-wise known pixels of SMC: a region's pixels, and every pixel
    that a teacher segment of another class owns.

    A region's pixels are known for every class (positive for its own,
    negative for the others). A pixel outside every region but owned by a
    segment of class ``c'`` (a query whose most probable class is ``c'``,
    confident or not) is a known negative of every class ``c != c'``: the
    teacher does not say what it is, but it says what it is not. Without
    these negatives a class with the only confident regions (early on,
    background) has no pixel against it, and its union grows over the
    objects.

    Args:
        regions (TeacherRegions): labels (B, G), segments (B, G, h, w),
            known (B, h, w).
        num_classes (int): K.

    Returns:
        Tensor: (B, K, h, w) bool.
    """
    owned, owner_label = segment_owner_labels(regions.segments,
                                              regions.labels)
    classes = torch.arange(num_classes, device=owned.device)
    other = owned[:, None] & (owner_label[:, None] != classes[:, None, None])
    return regions.known[:, None] | other


@float32
def rmc_loss(student_mask_logits: Tensor,
             teacher_masks: Tensor,
             matched: Tensor,
             known: Optional[Tensor] = None,
             temperature: float = 0.1,
             eps: float = 1.0,
             form: str = 'infonce',
             avg_factor: Optional[Number] = None,
             labels: Optional[Tensor] = None) -> Tensor:
    """Region Mask Contrastive loss, Eq. 5.

    The Dice similarity (:func:`pairwise_dice_similarity`) of the soft
    student masks ``sigmoid(m^s)``, restricted to the known pixels, to the
    teacher masks, contrasted by :func:`matched_contrast`.

    - ``form='infonce'`` (default): smoothed Dice (``eps``), the positive in
      the denominator.
    - ``form='printed'``: smoothed Dice, negatives only in the denominator.
    - ``form='paper'``: Eq. 5 as printed,

      ``l_i = -log(exp(d(m^s_sigma(i), m^t_i) / tau_m)
      / sum_{j in ID, j != sigma(i)} exp(d(m^s_j, m^t_i) / tau_m))``

      with the unsmoothed ``d = 2 |m^s n m^t| / (|m^s| + |m^t|)`` (``eps``
      is not used). The student masks stay soft: section 3.2 calls the
      student's masks binary, but a binary mask has no gradient, and RMC is
      the term that moves the masks. Guards: ``d`` lies in [0, 1], so
      ``l_i`` is bounded, ``-1 / tau_m <= l_i <= 1 / tau_m + log(n_i)``
      with ``n_i`` negatives (not unbounded below; it is negative once the
      positive wins, and its gradient stays ``1 / tau_m`` whatever the
      margin); two empty masks have ``d = 0`` (the denominator is clamped,
      not 0 / 0); a region without a negative (alone in its image: empty
      denominator, ``l_i = +inf`` as printed) is left out and not counted
      (:func:`contrast_members`).

    Args:
        student_mask_logits (Tensor): (B, Q, h, w) student mask logits.
        teacher_masks (Tensor): (B, G, h, w) binary teacher masks.
        matched (Tensor): (B, G) long, sigma(i) or -1.
        known (Tensor, optional): (B, h, w) bool, pixels not ignored.
            Default: None (all).
        temperature (float): tau_m. Default: 0.1.
        eps (float): smoothing of the Dice similarity of the ``'infonce'``
            and ``'printed'`` forms. Default: 1.0.
        form (str): ``'infonce'``, ``'printed'`` or ``'paper'``, see above.
            Default: 'infonce'.
        avg_factor (Tensor | float, optional): normaliser. Default: the
            number of regions with a negative (:func:`contrast_members`).
        labels (Tensor, optional): (B, G) long region classes: the
            negatives are regions of other classes only
            (:func:`matched_contrast`). Default: None (every other matched
            region, as printed).

    Returns:
        Tensor: scalar loss.
    """
    assert form in RMC_FORMS, f'form must be one of {RMC_FORMS}, got {form}'
    probs = student_mask_logits.flatten(2).float().sigmoid()
    probs = probs * _known_weight(known, probs)
    similarity = pairwise_dice_similarity(probs, teacher_masks.flatten(2),
                                          0.0 if form == 'paper' else eps)
    loss, counted = matched_contrast(similarity, matched, temperature,
                                     form == 'infonce', labels)
    return _avg(loss.sum(), counted.sum(), avg_factor)


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
def region_prototypes(masks: Tensor, features: Tensor) -> Tensor:
    """Mask-weighted means of the L2-normalised per-pixel features.

    ``r_m = sum_p m_p f_p / sum_p m_p`` with ``|f_p| = 1``, so ``|r_m| <=
    1``; an empty mask gives 0.

    Args:
        masks (Tensor): (B, M, P) mask weights in [0, 1].
        features (Tensor): (B, C, P) per-pixel features.

    Returns:
        Tensor: (B, M, C) prototypes inside the unit ball.
    """
    masks = masks.float()
    unit = F.normalize(features.float(), dim=1)
    total = torch.einsum('bmp,bcp->bmc', masks, unit)
    return total / (masks.sum(-1, keepdim=True) + _EPS)


@torch.no_grad()
def binary_masks(mask_logits: Tensor,
                 known: Optional[Tensor] = None,
                 threshold: float = 0.5) -> Tensor:
    """Binary student masks ``{m^s_i}`` of section 3.2, on the known pixels.

    ``m_p = [sigmoid(logit_p) >= threshold]`` (a hard threshold, no
    gradient), zero on ignored pixels.

    Args:
        mask_logits (Tensor): (B, Q, h, w) mask logits.
        known (Tensor, optional): (B, h, w) bool, pixels not ignored.
            Default: None (all).
        threshold (float): sigmoid threshold. Default: 0.5.

    Returns:
        Tensor: (B, Q, h * w) float in {0, 1}.
    """
    probs = mask_logits.detach().flatten(2).float().sigmoid()
    binary = (probs >= threshold).float()
    return binary * _known_weight(known, binary)


def nonempty_matched(matched: Tensor, student_masks: Tensor,
                     teacher_masks: Tensor) -> Tensor:
    """``matched`` without the pairs whose region feature is undefined.

    The guard of RFC's ``form='paper'``: an empty binary mask gives the
    zero region feature (Eq. 6-7) and its cosine (Eq. 8) is 0 / 0, so a
    teacher region whose own mask or whose matched student query's binary
    mask is empty is unmatched (-1): neither an anchor nor a negative.

    Args:
        matched (Tensor): (B, G) long, sigma(i) or -1.
        student_masks (Tensor): (B, Q, P) binary student masks
            (:func:`binary_masks`).
        teacher_masks (Tensor): (B, G, P) binary teacher masks.

    Returns:
        Tensor: (B, G) long, sigma(i) or -1.
    """
    student_any = student_masks.flatten(2).any(-1)
    keep = ((matched >= 0) & teacher_masks.flatten(2).any(-1)
            & student_any.gather(1, matched.clamp(min=0)))
    return torch.where(keep, matched, torch.full_like(matched, -1))


@float32
def rfc_loss(student_mask_logits: Tensor,
             teacher_masks: Tensor,
             features: Tensor,
             matched: Tensor,
             known: Optional[Tensor] = None,
             temperature: float = 0.1,
             form: str = 'bounded',
             detach_target: bool = True,
             avg_factor: Optional[Number] = None,
             labels: Optional[Tensor] = None,
             mask_threshold: float = 0.5) -> Tensor:
    """Region Feature Contrastive loss, Eq. 6-8.

    Both sides pool the *student's* per-pixel features ``F^s`` (Eq. 6-7):
    the student region of query ``j`` with its mask (restricted to the
    known pixels), the target region ``i`` with ``m^t_i``.

    - ``form='paper'``: Eq. 6-8 as printed, with the *binary* student masks
      of section 3.2 (:func:`binary_masks`: ``sigmoid(m^s) >=
      mask_threshold``, no gradient), ``r = GAP(m . F^s)`` (Eq. 6-7),
      cosine similarity and the negatives only in the denominator (Eq. 8):

      ``l_i = -log(exp(cos(r^s_sigma(i), r^t_i) / tau_f)
      / sum_{j in ID, j != sigma(i)} exp(cos(r^s_j, r^t_i) / tau_f))``.

      RFC then moves the per-pixel features only; its gradient with respect
      to the mask logits is exactly zero. Guards: the cosine lies in
      [-1, 1], so ``l_i`` is bounded, ``-2 / tau_f <= l_i <= 2 / tau_f +
      log(n_i)`` with ``n_i`` negatives (not unbounded below); a pair with
      an empty binary mask (zero region feature, undefined cosine) is
      dropped, neither anchor nor negative (:func:`nonempty_matched`); a
      region without a negative (empty denominator) is not counted
      (:func:`contrast_members`); a zero feature over a non-empty mask has
      cosine 0 (``F.normalize``'s eps).
    - ``form='printed'``: as ``'paper'`` with the soft student masks
      ``sigmoid(m^s)``. Its gradient is about ``beta / tau`` (200 at the
      paper's values) whatever the margin and reaches the mask logits, two
      orders above a supervised MaskFormer layer's for faint masks.
    - ``form='bounded'`` (default): ``r`` are the mask-weighted means of
      the L2-normalised pixel features (:func:`region_prototypes`, inside
      the unit ball) with soft student masks, the similarity is their dot
      product (in [-1, 1]) and the contrast is InfoNCE. The derivative of
      the similarity with respect to the mask logits sums to at most 2 over
      the pixels and to the features at most 1, whatever the masks' scale,
      and the InfoNCE gradient is at most ``2 / tau`` and vanishes once the
      positive dominates.

    Args:
        student_mask_logits (Tensor): (B, Q, h, w) student mask logits.
        teacher_masks (Tensor): (B, G, h, w) binary teacher masks.
        features (Tensor): (B, C, h, w) student per-pixel features F^s.
        matched (Tensor): (B, G) long, sigma(i) or -1.
        known (Tensor, optional): (B, h, w) bool, pixels not ignored.
            Default: None (all).
        temperature (float): tau_f. Default: 0.1.
        form (str): ``'bounded'``, ``'printed'`` or ``'paper'``.
            Default: 'bounded'.
        detach_target (bool): stop the gradient through the target ``r^t``
            (the paper does not say; the target side of a teacher/student
            pair is usually not back-propagated). Default: True.
        avg_factor (Tensor | float, optional): normaliser. Default: the
            number of regions with a negative (:func:`contrast_members`,
            after :func:`nonempty_matched` in the ``'paper'`` form).
        labels (Tensor, optional): (B, G) long region classes: the
            negatives are regions of other classes only
            (:func:`matched_contrast`), so that two regions of one class
            (two objects, or the backgrounds of the two images ClassMix
            mixed) are not pushed apart. Default: None (all, as printed).
        mask_threshold (float): sigmoid threshold of the binary student
            masks of the ``'paper'`` form. Default: 0.5.

    Returns:
        Tensor: scalar loss.
    """
    assert form in RFC_FORMS, f'form must be one of {RFC_FORMS}, got {form}'
    feats = features.flatten(2)
    targets = teacher_masks.flatten(2)
    if form == 'paper':
        masks = binary_masks(student_mask_logits, known, mask_threshold)
        matched = nonempty_matched(matched, masks, targets)
    else:
        masks = student_mask_logits.flatten(2).float().sigmoid()
        masks = masks * _known_weight(known, masks)
    if form == 'bounded':
        student = region_prototypes(masks, feats)
        target = region_prototypes(targets, feats)
    else:
        student = F.normalize(region_features(masks, feats), dim=-1)
        target = F.normalize(region_features(targets, feats), dim=-1)
    if detach_target:
        target = target.detach()
    similarity = torch.einsum('bgc,bqc->bgq', target, student)
    loss, counted = matched_contrast(similarity, matched, temperature,
                                     form == 'bounded', labels)
    return _avg(loss.sum(), counted.sum(), avg_factor)


@float32
def rcc_loss(student_cls_logits: Tensor,
             teacher_labels: Tensor,
             matched: Tensor,
             ignored: Optional[Tensor] = None,
             eos_coef: Optional[float] = 0.1,
             avg_factor: Optional[Number] = None,
             no_object_weight: Optional[Tensor] = None) -> Tensor:
    """Region Class Consistency loss, Eq. 9.

    With ``eos_coef`` (default) it is MaskFormer's class loss against the
    teacher regions: every student query of an image with at least one
    region is a term, the matched ones with their region's class and the
    unmatched ones with 'no object' weighted ``eos_coef``, and the result
    is the weighted mean (``F.cross_entropy`` with class weights). Queries
    matched to a segment the teacher is unsure of (``ignored``) get weight
    0: the teacher gives them neither a class nor 'no object'. Images
    without any region add nothing. With ``eos_coef=None`` it is Eq. 9 as
    printed: ``sum_i -log p^s_sigma(i)(c^t_i)`` over the matched regions,
    divided by ``avg_factor``. ``no_object_weight`` scales each unmatched
    query's 'no object' term (for example by the share of its mask that
    lies on pixels the teacher's regions cover, so that a query over
    ignored pixels is not taught 'no object'); with every pixel covered
    it is 1 and the loss is MaskFormer's.

    Args:
        student_cls_logits (Tensor): (B, Q, K+1) student class logits.
        teacher_labels (Tensor): (B, G) long teacher classes in [0, K).
        matched (Tensor): (B, G) long, sigma(i) or -1.
        ignored (Tensor, optional): (B, G') long, the student queries
            matched to ignored segments, or -1. Default: None.
        eos_coef (float, optional): weight of 'no object'. Default: 0.1
            (MaskFormer).
        avg_factor (Tensor | float, optional): normaliser of the printed
            form. Default: the number of matched regions.
        no_object_weight (Tensor, optional): (B, Q) factor of the 'no
            object' weight of each student query (not back-propagated).
            Default: None (1).

    Returns:
        Tensor: scalar loss.
    """
    cls = student_cls_logits.float()
    batch, num_queries, num_labels = cls.shape
    no_object = num_labels - 1
    is_matched = matched >= 0
    slot = torch.where(is_matched, matched, num_queries)
    target = torch.full((batch, num_queries + 1),
                        no_object,
                        dtype=torch.long,
                        device=cls.device)
    target.scatter_(1, slot, teacher_labels)
    target = target[:, :num_queries]
    ce = F.cross_entropy(cls.transpose(1, 2), target, reduction='none')
    if eos_coef is None:
        return _avg((ce.gather(1, matched.clamp(min=0)) * is_matched).sum(),
                    is_matched.sum(), avg_factor)
    weight = torch.where(target == no_object, ce.new_tensor(eos_coef),
                         ce.new_tensor(1.0))
    if no_object_weight is not None:
        weight = torch.where(target == no_object,
                             weight * no_object_weight.detach().float(),
                             weight)
    if ignored is not None:
        keep = torch.ones(batch, num_queries + 1, device=cls.device)
        keep.scatter_(1, torch.where(ignored >= 0, ignored, num_queries), 0.0)
        weight = weight * keep[:, :num_queries]
    weight = weight * is_matched.any(1, keepdim=True)
    return (weight * ce).sum() / weight.sum().clamp(min=_EPS)


def group_sum(values: Tensor, group: Tensor, num_groups: int) -> Tensor:
    """Sums of the rows of ``values`` by group.

    An indexed sum: ``N * P`` additions, where the product with a one-hot
    membership matrix would make ``num_groups`` times as many.

    Args:
        values (Tensor): (B, N, P) rows.
        group (Tensor): (B, N) long group of each row; a row whose group is
            outside ``[0, num_groups)`` joins no group.
        num_groups (int): number of groups.

    Returns:
        Tensor: (B, num_groups, P) sums (zero for an empty group).
    """
    batch, num, length = values.shape
    group = torch.where((group >= 0) & (group < num_groups), group,
                        num_groups)
    # one row index per (image, group), the last group of each image
    # collecting the rows of no group
    row = group + (num_groups + 1) * torch.arange(
        batch, device=group.device)[:, None]
    out = values.new_zeros(batch * (num_groups + 1), length).index_add(
        0, row.flatten(), values.reshape(batch * num, length))
    return out.view(batch, num_groups + 1, length)[:, :num_groups]


@float32
def union_logits(mask_logits: Tensor,
                 group: Tensor,
                 num_groups: int,
                 eps: float = 1e-6) -> Tensor:
    """Logits of the union (probabilistic OR) of groups of soft masks.

    ``U = 1 - prod_j (1 - sigmoid(m_j))`` over the members ``j`` of each
    group, returned as ``logit(U) = S + log(1 - exp(-S))`` with ``S =
    sum_j softplus(m_j)`` (stable; one member gives back its own logit).

    Args:
        mask_logits (Tensor): (B, Q, P) mask logits.
        group (Tensor): (B, Q) long group of each query (no gradient); a
            query whose group is outside ``[0, num_groups)`` joins none.
        num_groups (int): number of groups.
        eps (float): lower bound of ``S`` (an empty group has logit
            ``log(eps)``). Default: 1e-6.

    Returns:
        Tensor: (B, num_groups, P) union logits.
    """
    total = group_sum(F.softplus(mask_logits.float()), group,
                      num_groups).clamp(min=eps)
    return total + torch.log(-torch.expm1(-total))


@float32
def smc_loss(student_cls_logits: Tensor,
             student_mask_logits: Tensor,
             teacher_labels: Tensor,
             teacher_masks: Tensor,
             teacher_valid: Tensor,
             known: Optional[Tensor] = None,
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
    semantic mask of class ``c``, over the known pixels only (ignored
    pixels add nothing to the focal term's mean over all pixels and are
    left out of the dice sums). Eq. 10 sums over teacher regions ``i``
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
        known (Tensor, optional): (B, h, w) bool, pixels not ignored, or
            (B, K, h, w), per class (:func:`segment_negatives`).
            Default: None (all).
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
    # 'no object' (index K) joins no union
    union = union_logits(student_mask_logits.flatten(2),
                         student_cls_logits.detach().argmax(-1), num_classes)
    teacher_group = torch.where(teacher_valid, teacher_labels, num_classes)
    semantic = group_sum(teacher_masks.flatten(2).float(), teacher_group,
                         num_classes).clamp(max=1.0)
    present = one_hot(teacher_group, num_classes).any(1).float()
    num = present.sum().clamp(min=1.0) if avg_factor is None else avg_factor
    weight = None if known is None else _known_weight(known, union)
    focal = sigmoid_focal_loss(union, semantic, num, present, focal_alpha,
                               focal_gamma, weight)
    dice = dice_loss(union, semantic, num, present, pixel_weight=weight)
    return focal_weight * focal + dice_weight * dice


@float32
def pixel_consistency_loss(student_semantic: Tensor,
                           teacher_labels: Tensor,
                           teacher_segments: Tensor,
                           known: Optional[Tensor] = None,
                           eps: float = _EPS) -> Tensor:
    """The pixel consistency of RC2L's baseline (Table 3, first row).

    The paper's ablation (section 4.3) builds every region loss on top of a
    baseline that "only uses mask consistency between teacher and student
    predictions for unlabeled data", learnt "between student outputs and
    pseudo labels" as CCT (Ouali et al., CVPR 2020) does. Here the pseudo
    label of a pixel is the class of the teacher segment that owns it
    (:func:`teacher_regions`, step 1: the object query with the largest
    ``score * sigmoid(mask)``), on every owned pixel, confident or not; the
    student's prediction is MaskFormer's semantic inference ``S_k = sum_q
    p_q(k) sigmoid(m_q)`` normalised over the K classes, and the loss is
    the mean over the owned pixels of ``-log(S_y / sum_k S_k)``. Pixels no
    segment owns add nothing.

    Args:
        student_semantic (Tensor): (B, K, h, w) the student's semantic
            scores ``S`` (non-negative).
        teacher_labels (Tensor): (B, G) long classes of the teacher's
            segments in [0, K).
        teacher_segments (Tensor): (B, G, h, w) binary, disjoint masks of
            the pixels each segment owns.
        known (Tensor, optional): (B, h, w) bool, the pixels to use (e.g.
            :attr:`TeacherRegions.agreed`). Default: None (every owned
            pixel).
        eps (float): lower bound of the scores inside the logarithm.
            Default: 1e-6.

    Returns:
        Tensor: scalar loss (zero without an owned pixel).
    """
    owned, target = segment_owner_labels(teacher_segments, teacher_labels)
    if known is not None:
        owned = owned & known
    scores = student_semantic.float().clamp(min=eps)
    log_prob = scores.log() - scores.sum(1).log()[:, None]
    nll = -log_prob.gather(1, target[:, None])[:, 0]
    return _avg((nll * owned).sum(), owned.sum(), None)
