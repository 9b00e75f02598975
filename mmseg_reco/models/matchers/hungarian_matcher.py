"""Bipartite matching of predicted regions to target segments."""
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.ops import point_sample
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from mmseg.registry import TASK_UTILS

from ..losses.mask_losses import (pairwise_dice_cost, pairwise_sigmoid_ce_cost,
                                  pairwise_sigmoid_focal_cost)

#: mask costs accepted by ``HungarianMatcher(mask_cost=...)``
MASK_COSTS = ('focal', 'bce')


@TASK_UTILS.register_module()
class HungarianMatcher:
    """Optimal one-to-one assignment of queries to target segments.

    MaskFormer's matcher (`Cheng et al., 2021
    <https://arxiv.org/abs/2107.06278>`_, ``mask_former/modeling/
    matcher.py``): the cost of assigning query ``q`` to target ``g`` is::

        cost_class * -p_q(c_g)                  (softmax over K+1 classes)
      + cost_mask  * focal(m_q, t_g)            (or sigmoid BCE, Mask2Former)
      + cost_dice  * dice(m_q, t_g)

    and :func:`scipy.optimize.linear_sum_assignment` solves every image on
    the CPU. Used for ground-truth segments (the supervised MaskFormer loss)
    and for teacher regions (the matching sigma of RC2L, section 3.2).

    Targets are batched and padded: ``G`` slots per image with a validity
    mask, e.g. one slot per class for semantic ground truth. The mask costs
    are computed at ``num_points`` random points shared by the predictions
    and targets of an image (Mask2Former's memory saving); ``num_points=None``
    computes them densely at the targets' resolution, with the predictions
    upsampled bilinearly, as MaskFormer does.

    Matching needs the cost matrices on the host: one device-to-host copy
    per call (unavoidable for the Hungarian algorithm) and one copy back.

    Args:
        cost_class (float): weight of the class cost. Default: 1.0.
        cost_mask (float): weight of the focal (or BCE) mask cost.
            Default: 20.0 (MaskFormer).
        cost_dice (float): weight of the dice cost. Default: 1.0.
        mask_cost (str): ``'focal'`` (MaskFormer) or ``'bce'``
            (Mask2Former). Default: 'focal'.
        num_points (int, optional): points sampled per image; None: dense.
            Default: 12544 (Mask2Former, 112 x 112).
        focal_alpha (float): focal alpha of the mask cost. Default: 0.25.
        focal_gamma (float): focal gamma of the mask cost. Default: 2.0.
        dice_eps (float): smoothing of the dice cost. Default: 1.0.
    """

    def __init__(self,
                 cost_class: float = 1.0,
                 cost_mask: float = 20.0,
                 cost_dice: float = 1.0,
                 mask_cost: str = 'focal',
                 num_points: Optional[int] = 12544,
                 focal_alpha: float = 0.25,
                 focal_gamma: float = 2.0,
                 dice_eps: float = 1.0) -> None:
        assert mask_cost in MASK_COSTS, \
            f'mask_cost must be one of {MASK_COSTS}, got {mask_cost!r}'
        assert num_points is None or num_points > 0
        assert cost_class != 0 or cost_mask != 0 or cost_dice != 0, \
            'all costs cannot be 0'
        self.cost_class = cost_class
        self.cost_mask = cost_mask
        self.cost_dice = cost_dice
        self.mask_cost = mask_cost
        self.num_points = num_points
        self.focal_alpha = focal_alpha
        self.focal_gamma = focal_gamma
        self.dice_eps = dice_eps

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(cost_class={self.cost_class}, '
                f'cost_mask={self.cost_mask}, cost_dice={self.cost_dice}, '
                f'mask_cost={self.mask_cost!r}, '
                f'num_points={self.num_points})')

    def sample_points(self, mask_logits: Tensor,
                      tgt_masks: Tensor) -> tuple:
        """Predicted and target masks at common points.

        Args:
            mask_logits (Tensor): (B, Q, h, w) predicted mask logits.
            tgt_masks (Tensor): (B, G, H, W) target masks in [0, 1].

        Returns:
            tuple[Tensor, Tensor]: (B, Q, P) logits and (B, G, P) targets.
        """
        mask_logits = mask_logits.float()
        tgt_masks = tgt_masks.float()
        if self.num_points is None:
            if mask_logits.shape[-2:] != tgt_masks.shape[-2:]:
                mask_logits = F.interpolate(
                    mask_logits,
                    size=tgt_masks.shape[-2:],
                    mode='bilinear',
                    align_corners=False)
            return mask_logits.flatten(2), tgt_masks.flatten(2)
        coords = torch.rand(
            mask_logits.shape[0], self.num_points, 2,
            device=mask_logits.device)
        return (point_sample(mask_logits, coords, align_corners=False),
                point_sample(tgt_masks, coords, align_corners=False))

    @torch.no_grad()
    def cost_matrix(self, cls_logits: Tensor, mask_logits: Tensor,
                    tgt_labels: Tensor, tgt_masks: Tensor) -> Tensor:
        """The matching cost of every (query, target) pair.

        Args:
            cls_logits (Tensor): (B, Q, K+1) class logits.
            mask_logits (Tensor): (B, Q, h, w) mask logits.
            tgt_labels (Tensor): (B, G) long target classes in [0, K).
            tgt_masks (Tensor): (B, G, H, W) target masks in [0, 1].

        Returns:
            Tensor: (B, Q, G) float32 costs.
        """
        prob = cls_logits.float().softmax(-1)
        cost = -self.cost_class * prob.gather(
            2, tgt_labels[:, None, :].expand(-1, prob.shape[1], -1))
        pred, tgt = self.sample_points(mask_logits, tgt_masks)
        if self.cost_mask != 0:
            if self.mask_cost == 'focal':
                mask = pairwise_sigmoid_focal_cost(pred, tgt, self.focal_alpha,
                                                   self.focal_gamma)
            else:
                mask = pairwise_sigmoid_ce_cost(pred, tgt)
            cost = cost + self.cost_mask * mask
        if self.cost_dice != 0:
            cost = cost + self.cost_dice * pairwise_dice_cost(
                pred, tgt, self.dice_eps)
        return cost

    @torch.no_grad()
    def __call__(self, cls_logits: Tensor, mask_logits: Tensor,
                 tgt_labels: Tensor, tgt_masks: Tensor,
                 tgt_valid: Tensor) -> Tensor:
        """Match the queries of every image to its valid targets.

        Args:
            cls_logits (Tensor): (B, Q, K+1) class logits.
            mask_logits (Tensor): (B, Q, h, w) mask logits.
            tgt_labels (Tensor): (B, G) long target classes in [0, K).
            tgt_masks (Tensor): (B, G, H, W) target masks in [0, 1].
            tgt_valid (Tensor): (B, G) bool, the real (non-padding) targets.

        Returns:
            Tensor: (B, G) long on the inputs' device: the query matched to
            each target, -1 for padding and for targets left unmatched
            (more valid targets than queries).
        """
        batch, num_targets = tgt_labels.shape
        device = cls_logits.device
        if num_targets == 0:
            return torch.full((batch, 0), -1, dtype=torch.long, device=device)
        cost = self.cost_matrix(cls_logits, mask_logits, tgt_labels,
                                tgt_masks)
        cost = torch.nan_to_num(cost, nan=1e8, posinf=1e8, neginf=-1e8)
        cost, valid = cost.cpu().numpy(), tgt_valid.cpu().numpy()
        matched = np.full((batch, num_targets), -1, dtype=np.int64)
        for b in range(batch):
            cols = np.flatnonzero(valid[b])
            if cols.size == 0:
                continue
            rows, picked = linear_sum_assignment(cost[b][:, cols])
            matched[b, cols[picked]] = rows
        return torch.from_numpy(matched).to(device)
