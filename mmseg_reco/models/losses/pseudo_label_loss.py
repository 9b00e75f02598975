"""Confidence-weighted cross-entropy on pseudo-labels (ReCo Eq. 6)."""
from typing import Dict

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS


def pseudo_label_ce(logits: Tensor,
                    labels: Tensor,
                    confidence: Tensor,
                    threshold: float = 0.97,
                    ignore_index: int = 255) -> Dict[str, Tensor]:
    """Cross-entropy on (mixed) pseudo-labels weighted per image by eta.

    ReCo (Liu et al., ICLR 2022, arXiv 2104.04465) Eq. 6:
    ``eta * L_unsupervised`` with eta the share of confident pseudo-label
    pixels. As in the authors' code (``compute_unsupervised_loss``), eta is
    computed per image as the number of pixels with
    ``confidence >= threshold`` divided by the number of valid (non-ignored)
    pixels, and the weighted per-pixel loss is averaged over the pixels whose
    loss is non-zero (ignored pixels have zero loss).

    Args:
        logits (Tensor): (N, K, H, W) student logits on the strong view.
        labels (Tensor): (N, H, W) long pseudo-labels, ``ignore_index`` where
            unknown (e.g. a CutOut box).
        confidence (Tensor): (N, H, W) teacher confidence (max softmax
            probability) in [0, 1], mixed like the labels.
        threshold (float): softmax probability above which a pseudo-label
            counts as confident. Default: 0.97.
        ignore_index (int): label to ignore. Default: 255.

    Returns:
        dict[str, Tensor]: ``loss`` (scalar) and ``eta`` (N,) the per-image
        share of confident pixels, for logging.
    """
    valid = labels != ignore_index
    confident = (confidence >= threshold) & valid
    eta = confident.flatten(1).sum(1).float() / valid.flatten(1).sum(1).clamp(
        min=1).float()
    pixel_loss = F.cross_entropy(
        logits.float(), labels, reduction='none', ignore_index=ignore_index)
    nonzero = (pixel_loss > 0).float()
    loss = (eta[:, None, None] * pixel_loss * nonzero).sum() / nonzero.sum(
    ).clamp(min=1)
    return dict(loss=loss, eta=eta)


@MODELS.register_module()
class PseudoLabelCELoss(nn.Module):
    """Module wrapper of :func:`pseudo_label_ce`.

    Args:
        threshold (float): confidence (softmax probability) for eta.
            Default: 0.97 (ReCo's strong threshold).
        loss_weight (float): weight of the loss. Default: 1.0.
        ignore_index (int): label to ignore. Default: 255.
        loss_name (str): key of the loss. Default: ``'loss_pseudo_ce'``.
    """

    def __init__(self,
                 threshold: float = 0.97,
                 loss_weight: float = 1.0,
                 ignore_index: int = 255,
                 loss_name: str = 'loss_pseudo_ce'):
        super().__init__()
        self.threshold = threshold
        self.loss_weight = loss_weight
        self.ignore_index = ignore_index
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, logits: Tensor, labels: Tensor,
                confidence: Tensor) -> Dict[str, Tensor]:
        """``{loss_name: weighted loss, 'confident_ratio': mean eta}``."""
        out = pseudo_label_ce(logits, labels, confidence, self.threshold,
                              self.ignore_index)
        return {
            self.loss_name: self.loss_weight * out['loss'],
            'confident_ratio': out['eta'].mean().detach(),
        }
