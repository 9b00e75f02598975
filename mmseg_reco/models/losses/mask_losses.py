"""Binary mask losses of MaskFormer and their pairwise (matching) costs.

`MaskFormer <https://arxiv.org/abs/2107.06278>`_ (Cheng et al., 2021)
supervises every matched mask with a sigmoid focal loss (Lin et al., 2017)
and a dice loss (Milletari et al., 2016); the Hungarian matcher uses the
same two terms, computed for every (prediction, target) pair, as costs.
RC2L (Zhang et al., IJCAI 2022) uses them for its supervised loss and for
the ``L_mask`` of the semantic mask consistency (Eq. 10), where pixels
outside the teacher's regions are ignored (``pixel_weight``).

Masks are flattened to ``P`` points (all pixels or sampled points). The
element-wise losses take matched pairs ``(M, P)`` and a per-mask weight (0
for padding), sum over masks and divide by ``num_masks``, the number of
target masks averaged over all processes (:func:`reduce_num_masks`), as
MaskFormer's ``SetCriterion`` does. Everything is computed in float32.

Pure torch: this module does not import mmseg.
"""
import functools
from typing import Callable, Optional, Union

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor

Number = Union[Tensor, float]


def float32(fn: Callable) -> Callable:
    """Run ``fn`` with autocast disabled (its tensors are cast to float32
    inside), so that einsums and sums are not done in half precision."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        device = next((a.device.type for a in args if isinstance(a, Tensor)),
                      'cpu')
        with torch.autocast(device_type=device, enabled=False):
            return fn(*args, **kwargs)

    return wrapper


def reduce_num_masks(num_masks: Tensor) -> Tensor:
    """Average a count over all processes and clamp it to at least 1.

    MaskFormer's ``SetCriterion.forward``: ``all_reduce`` the number of target
    masks, divide by the world size and clamp to >= 1, so the loss has the
    same normalisation on every process. Stays a tensor (no host sync).

    Args:
        num_masks (Tensor): the local count(s), any shape.

    Returns:
        Tensor: float32 counts of the same shape, >= 1.
    """
    num_masks = num_masks.detach().float().clone()
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(num_masks)
        num_masks = num_masks / dist.get_world_size()
    return num_masks.clamp(min=1.0)


def _weighted_sum(per_mask: Tensor, weight: Optional[Tensor],
                  num_masks: Number) -> Tensor:
    """Sum of per-mask losses (optionally weighted) over ``num_masks``."""
    if weight is not None:
        per_mask = per_mask * weight.to(per_mask.dtype)
    return per_mask.sum() / num_masks


@float32
def dice_loss(inputs: Tensor,
              targets: Tensor,
              num_masks: Number,
              weight: Optional[Tensor] = None,
              eps: float = 1.0,
              pixel_weight: Optional[Tensor] = None) -> Tensor:
    """Dice loss of matched masks (MaskFormer ``dice_loss``).

    ``1 - (2 sum(p t) + eps) / (sum(p) + sum(t) + eps)`` per mask with
    ``p = sigmoid(inputs)``, summed over masks and divided by ``num_masks``.
    With ``pixel_weight`` the sums run over the weighted points only (``p``
    and ``t`` are multiplied by it): ignored points (weight 0) count
    neither for nor against a mask.

    Args:
        inputs (Tensor): (..., P) mask logits.
        targets (Tensor): (..., P) binary (or soft) targets in [0, 1].
        num_masks (Tensor | float): normaliser (number of target masks).
        weight (Tensor, optional): (...) per-mask weight, e.g. 0 for padded
            pairs. Default: None (all 1).
        eps (float): smoothing added to numerator and denominator.
            Default: 1.0 (MaskFormer).
        pixel_weight (Tensor, optional): point weights broadcastable to
            ``inputs`` (..., P), e.g. 0 on ignored pixels. Default: None.

    Returns:
        Tensor: scalar loss.
    """
    prob = inputs.float().sigmoid()
    targets = targets.float()
    if pixel_weight is not None:
        pixel_weight = pixel_weight.float()
        prob = prob * pixel_weight
        targets = targets * pixel_weight
    numerator = 2 * (prob * targets).sum(-1)
    denominator = prob.sum(-1) + targets.sum(-1)
    loss = 1 - (numerator + eps) / (denominator + eps)
    return _weighted_sum(loss, weight, num_masks)


@float32
def sigmoid_focal_loss(inputs: Tensor,
                       targets: Tensor,
                       num_masks: Number,
                       weight: Optional[Tensor] = None,
                       alpha: float = 0.25,
                       gamma: float = 2.0,
                       pixel_weight: Optional[Tensor] = None) -> Tensor:
    """Sigmoid focal loss of matched masks (MaskFormer ``sigmoid_focal_loss``).

    ``alpha_t (1 - p_t)^gamma BCE`` averaged over the ``P`` points of each
    mask, summed over masks and divided by ``num_masks``. A negative
    ``alpha`` turns the class balancing off. ``pixel_weight`` weights the
    points; the average still divides by ``P``, so ignored points (weight
    0) add nothing and the share of weighted points scales the loss.

    Args:
        inputs (Tensor): (..., P) mask logits.
        targets (Tensor): (..., P) targets in [0, 1].
        num_masks (Tensor | float): normaliser (number of target masks).
        weight (Tensor, optional): (...) per-mask weight. Default: None.
        alpha (float): weight of the positive class. Default: 0.25.
        gamma (float): focusing exponent. Default: 2.0.
        pixel_weight (Tensor, optional): point weights broadcastable to
            ``inputs`` (..., P). Default: None (all 1).

    Returns:
        Tensor: scalar loss.
    """
    inputs = inputs.float()
    targets = targets.float()
    prob = inputs.sigmoid()
    ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction='none')
    p_t = prob * targets + (1 - prob) * (1 - targets)
    loss = ce * (1 - p_t)**gamma
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    if pixel_weight is not None:
        loss = loss * pixel_weight.float()
    return _weighted_sum(loss.mean(-1), weight, num_masks)


@float32
def sigmoid_ce_loss(inputs: Tensor,
                    targets: Tensor,
                    num_masks: Number,
                    weight: Optional[Tensor] = None) -> Tensor:
    """Binary cross-entropy of matched masks (Mask2Former ``sigmoid_ce_loss``).

    Args:
        inputs (Tensor): (..., P) mask logits.
        targets (Tensor): (..., P) targets in [0, 1].
        num_masks (Tensor | float): normaliser (number of target masks).
        weight (Tensor, optional): (...) per-mask weight. Default: None.

    Returns:
        Tensor: scalar loss.
    """
    loss = F.binary_cross_entropy_with_logits(
        inputs.float(), targets.float(), reduction='none')
    return _weighted_sum(loss.mean(-1), weight, num_masks)


@float32
def pairwise_dice_cost(inputs: Tensor,
                       targets: Tensor,
                       eps: float = 1.0) -> Tensor:
    """Dice loss of every (prediction, target) pair (MaskFormer matcher).

    Args:
        inputs (Tensor): (..., Q, P) mask logits.
        targets (Tensor): (..., G, P) targets in [0, 1].
        eps (float): smoothing. Default: 1.0.

    Returns:
        Tensor: (..., Q, G) costs.
    """
    prob = inputs.float().sigmoid()
    targets = targets.float()
    numerator = 2 * torch.einsum('...qp,...gp->...qg', prob, targets)
    denominator = prob.sum(-1)[..., :, None] + targets.sum(-1)[..., None, :]
    return 1 - (numerator + eps) / (denominator + eps)


@float32
def pairwise_sigmoid_focal_cost(inputs: Tensor,
                                targets: Tensor,
                                alpha: float = 0.25,
                                gamma: float = 2.0) -> Tensor:
    """Sigmoid focal loss of every (prediction, target) pair.

    MaskFormer's ``batch_sigmoid_focal_loss``: the focal loss of prediction
    ``q`` against target ``g``, averaged over the ``P`` points.

    Args:
        inputs (Tensor): (..., Q, P) mask logits.
        targets (Tensor): (..., G, P) targets in [0, 1].
        alpha (float): weight of the positive class (< 0: off).
            Default: 0.25.
        gamma (float): focusing exponent. Default: 2.0.

    Returns:
        Tensor: (..., Q, G) costs.
    """
    inputs = inputs.float()
    targets = targets.float()
    prob = inputs.sigmoid()
    focal_pos = (1 - prob)**gamma * F.binary_cross_entropy_with_logits(
        inputs, torch.ones_like(inputs), reduction='none')
    focal_neg = prob**gamma * F.binary_cross_entropy_with_logits(
        inputs, torch.zeros_like(inputs), reduction='none')
    if alpha >= 0:
        focal_pos = focal_pos * alpha
        focal_neg = focal_neg * (1 - alpha)
    cost = (torch.einsum('...qp,...gp->...qg', focal_pos, targets) +
            torch.einsum('...qp,...gp->...qg', focal_neg, 1 - targets))
    return cost / inputs.shape[-1]


@float32
def pairwise_sigmoid_ce_cost(inputs: Tensor, targets: Tensor) -> Tensor:
    """Binary cross-entropy of every (prediction, target) pair.

    Mask2Former's ``batch_sigmoid_ce_loss``.

    Args:
        inputs (Tensor): (..., Q, P) mask logits.
        targets (Tensor): (..., G, P) targets in [0, 1].

    Returns:
        Tensor: (..., Q, G) costs.
    """
    inputs = inputs.float()
    targets = targets.float()
    pos = F.binary_cross_entropy_with_logits(
        inputs, torch.ones_like(inputs), reduction='none')
    neg = F.binary_cross_entropy_with_logits(
        inputs, torch.zeros_like(inputs), reduction='none')
    cost = (torch.einsum('...qp,...gp->...qg', pos, targets) +
            torch.einsum('...qp,...gp->...qg', neg, 1 - targets))
    return cost / inputs.shape[-1]
