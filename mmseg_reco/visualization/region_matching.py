"""RC2L's matched queries against the supervised matching (the logic of
``tools/analysis/region_matching.py``)."""
from typing import Dict, Iterable, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ..models.losses.region_losses import one_hot

#: what the supervised matching does with a region's query
USES = ('same class', 'other class', 'no object')


def region_query_use(gt_matched: Tensor, gt_labels: Tensor, gt_valid: Tensor,
                     region_matched: Tensor, region_labels: Tensor,
                     region_valid: Tensor, num_classes: int) -> Tensor:
    """Count, per region class, what the supervised matching does with the
    region's student query.

    Args:
        gt_matched (Tensor): (B, G) long, the query matched to each ground
            truth segment, or -1.
        gt_labels (Tensor): (B, G) long segment classes.
        gt_valid (Tensor): (B, G) bool, the segments present.
        region_matched (Tensor): (B, R) long, the query matched to each
            teacher region, or -1.
        region_labels (Tensor): (B, R) long region classes.
        region_valid (Tensor): (B, R) bool, the regions.
        num_classes (int): K.

    Returns:
        Tensor: (K, 3) long, per region class the regions whose query the
        supervised matching gives the same class, another class, or
        nothing ('no object'), in the order of :data:`USES`.
    """
    gt_ok = gt_valid & (gt_matched >= 0)
    # (B, R, G): the region's query is the segment's query
    same_query = ((region_matched[..., None] == gt_matched[:, None]) &
                  gt_ok[:, None] & (region_matched[..., None] >= 0))
    same_class = region_labels[..., None] == gt_labels[:, None]
    use_same = (same_query & same_class).any(-1)
    use_other = (same_query & ~same_class).any(-1)
    counted = region_valid & (region_matched >= 0)
    uses = torch.stack([use_same, use_other, ~(use_same | use_other)], -1)
    uses = uses & counted[..., None]
    by_class = one_hot(region_labels, num_classes) & counted[..., None]
    return torch.einsum('brk,bru->ku', by_class.long(), uses.long())


@torch.no_grad()
def count_region_query_use(model, term,
                           batches: Iterable[dict]) -> Dict[str, Tensor]:
    """Both matchings over batches of labelled images.

    Args:
        model (nn.Module): a region model in eval mode: a mean teacher
            (``SemiSegmentor``), or a supervised one (a plain segmentor or a
            ``SemiSegmentor`` without ``strong_aug``), its own teacher.
        term (RC2LTerm): gives the teacher regions and their matcher.
        batches (Iterable[dict]): collated batches (``inputs``,
            ``data_samples`` with ``gt_sem_seg``), e.g. :func:`iter_batches`.

    Returns:
        dict[str, Tensor]: ``uses`` (K, 3), see :func:`region_query_use`;
        ``segments`` (K,), the ground-truth segments of each class matched
        to a query, and ``segment_probs`` (K, 3), the sums over them of the
        student query's probability of the segment's class, of the first
        class (background in the demo and VOC) and of 'no object' (see
        :func:`matched_class_probs`); ``images``, the images used.
    """
    student = getattr(model, 'student', model)
    # a SemiSegmentor without a strong view is the supervised baseline: its
    # teacher is never trained, the student is its own teacher
    semi = getattr(model, 'strong_aug', None) is not None
    teacher = model.teacher if semi else student
    head = student.decode_head
    if not hasattr(head, 'semantic_targets'):
        raise ValueError(f'{type(head).__name__} is not a region head: the '
                         'tool needs a RegionHead model (RC2L)')
    num_classes = head.num_classes
    uses = torch.zeros(num_classes, len(USES), dtype=torch.long)
    segments = torch.zeros(num_classes)
    segment_probs = torch.zeros(num_classes, 3)
    seen = 0
    for data in batches:
        data = model.data_preprocessor(data, False)
        inputs, samples = data['inputs'], data['data_samples']
        out_s = head.forward(student.extract_feat(inputs))
        out_t = teacher.decode_head.forward(teacher.extract_feat(inputs))
        cls_s, masks_s = out_s['pred_logits'], out_s['pred_masks']
        gt = torch.stack([s.gt_sem_seg.data[0] for s in samples]).long()
        gt = F.interpolate(gt[:, None].float().to(masks_s.device),
                           size=masks_s.shape[-2:], mode='nearest')[:, 0]
        labels, masks, valid = head.semantic_targets(gt.long())
        gt_matched = head.matcher(cls_s, masks_s, labels, masks, valid)
        count, probs = matched_class_probs(cls_s, gt_matched, labels, valid)
        segments += count.cpu()
        segment_probs += probs.cpu()
        regions = term.regions(out_t)
        matched = term.matcher(cls_s, masks_s, regions.labels,
                               regions.segments, regions.segment_valid)
        uses += region_query_use(gt_matched, labels, valid, matched,
                                 regions.labels, regions.valid,
                                 num_classes).cpu()
        seen += inputs.shape[0]
    return dict(uses=uses, segments=segments, segment_probs=segment_probs,
                images=torch.tensor(seen))


def matched_class_probs(cls_logits: Tensor, gt_matched: Tensor,
                        gt_labels: Tensor,
                        gt_valid: Tensor) -> Tuple[Tensor, Tensor]:
    """Class probabilities of the queries matched to ground-truth segments.

    Args:
        cls_logits (Tensor): (B, Q, K+1) class logits.
        gt_matched (Tensor): (B, G) long, the query of each segment, or -1.
        gt_labels (Tensor): (B, G) long segment classes in [0, K).
        gt_valid (Tensor): (B, G) bool, the segments present.

    Returns:
        tuple[Tensor, Tensor]: per class (K,) the matched segments, and
        (K, 3) the sums over them of the query's probability of the
        segment's class, of class 0 and of 'no object' (index K).
    """
    num_classes = cls_logits.shape[-1] - 1
    probs = cls_logits.float().softmax(-1)
    query = probs.gather(
        1, gt_matched.clamp(min=0)[..., None].expand(-1, -1,
                                                     num_classes + 1))
    picked = torch.stack([
        query.gather(-1, gt_labels[..., None])[..., 0], query[..., 0],
        query[..., num_classes]
    ], -1)
    ok = (gt_valid & (gt_matched >= 0)).float()
    by_class = one_hot(gt_labels, num_classes).float() * ok[..., None]
    return (by_class.sum((0, 1)),
            torch.einsum('bgk,bgu->ku', by_class, picked))
