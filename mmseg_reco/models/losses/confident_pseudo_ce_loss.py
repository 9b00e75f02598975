"""Cross-entropy on confident pseudo-labels (FixMatch's unlabelled loss as
UniMatch writes it)."""
from typing import Dict

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS


def confident_pseudo_ce(logits: Tensor,
                        labels: Tensor,
                        confidence: Tensor,
                        threshold: float = 0.95,
                        ignore_index: int = 255,
                        num_groups: int = 1) -> Dict[str, Tensor]:
    """Cross-entropy on confident pseudo-labels, averaged over valid pixels.

    UniMatch (Yang et al., CVPR 2023, arXiv 2208.09910), Sec. 3.1, the
    unlabelled loss of FixMatch::

        L_u = 1 / |V| * sum_{i in V} 1[c_i >= tau] * H(y_i, p_i)

    where ``V`` are the valid (not ``ignore_index``) pixels, ``c_i`` the
    pseudo-label's confidence and ``H`` the cross-entropy of the student's
    prediction ``p_i`` with the pseudo-label ``y_i``. As in the authors'
    code (``unimatch.py``, ``fixmatch.py``) the sum runs over the confident
    valid pixels and the mean over all valid pixels, so that a pixel below
    the threshold counts as a zero loss (the loss shrinks with the mask
    ratio instead of being renormalised by it). The batch may hold several
    groups (strong views) of equal size, each reduced on its own.

    Args:
        logits (Tensor): (N, K, H, W) student logits, N = G * n.
        labels (Tensor): (N, H, W) long pseudo-labels, ``ignore_index`` where
            unknown.
        confidence (Tensor): (N, H, W) their confidence in [0, 1].
        threshold (float): a pixel counts where ``confidence >= threshold``.
            Default: 0.95.
        ignore_index (int): label of invalid pixels. Default: 255.
        num_groups (int): G, consecutive groups of n images reduced
            separately. Default: 1.

    Returns:
        dict[str, Tensor]: ``loss`` (G,) and ``mask_ratio`` (G,), the share of
        valid pixels that are confident.
    """
    valid = labels != ignore_index
    confident = valid & (confidence >= threshold)
    pixel_loss = F.cross_entropy(
        logits.float(), labels, reduction='none', ignore_index=ignore_index)
    pixel_loss = pixel_loss * confident
    num_valid = valid.reshape(num_groups, -1).sum(1).clamp(min=1)
    loss = pixel_loss.reshape(num_groups, -1).sum(1) / num_valid
    ratio = confident.reshape(num_groups, -1).sum(1) / num_valid
    return dict(loss=loss, mask_ratio=ratio)


def group_losses(loss_name: str, losses: Tensor) -> Dict[str, Tensor]:
    """One key per group of a per-group loss.

    Args:
        loss_name (str): key of the loss.
        losses (Tensor): (G,) the loss of each group.

    Returns:
        dict[str, Tensor]: ``{loss_name: loss}`` (a scalar) for one group,
        ``{loss_name_1: ..., loss_name_G: ...}`` for several.
    """
    if losses.shape[0] == 1:
        return {loss_name: losses[0]}
    return {
        f'{loss_name}_{group + 1}': value
        for group, value in enumerate(losses.unbind())
    }


@MODELS.register_module()
class ConfidentPseudoCELoss(nn.Module):
    """Module wrapper of :func:`confident_pseudo_ce`.

    Args:
        threshold (float): confidence threshold tau. Default: 0.95
            (UniMatch's).
        loss_weight (float): weight of the loss. Default: 1.0.
        ignore_index (int): label to ignore. Default: 255.
        loss_name (str): key of the loss. Default:
            ``'loss_confident_pseudo_ce'``.
    """

    def __init__(self,
                 threshold: float = 0.95,
                 loss_weight: float = 1.0,
                 ignore_index: int = 255,
                 loss_name: str = 'loss_confident_pseudo_ce') -> None:
        super().__init__()
        if not loss_name.startswith('loss_'):
            raise ValueError('ConfidentPseudoCELoss: loss_name must start '
                             f"with 'loss_', got {loss_name!r}")
        self.threshold = threshold
        self.loss_weight = loss_weight
        self.ignore_index = ignore_index
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self,
                logits: Tensor,
                labels: Tensor,
                confidence: Tensor,
                num_groups: int = 1) -> Dict[str, Tensor]:
        """The weighted loss of each group and the mask ratio.

        Args:
            logits (Tensor): (N, K, H, W) student logits, N = G * n.
            labels (Tensor): (N, H, W) long pseudo-labels.
            confidence (Tensor): (N, H, W) their confidence.
            num_groups (int): G, groups reduced separately. Default: 1.

        Returns:
            dict[str, Tensor]: ``{loss_name: loss}`` (a scalar) for one
            group, ``{loss_name_1: ..., loss_name_G: ...}`` for several,
            and ``mask_ratio``, the mean share of confident valid pixels
            (detached).
        """
        out = confident_pseudo_ce(logits, labels, confidence, self.threshold,
                                  self.ignore_index, num_groups)
        losses = group_losses(self.loss_name, self.loss_weight * out['loss'])
        losses['mask_ratio'] = out['mask_ratio'].mean().detach()
        return losses
