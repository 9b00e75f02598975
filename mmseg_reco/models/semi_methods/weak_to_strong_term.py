"""FixMatch's weak-to-strong consistency for segmentation, as UniMatch
re-implements it (Yang et al., CVPR 2023, arXiv 2208.09910, Sec. 3.1)."""
from typing import Dict

import torch.nn as nn
from torch import Tensor

from mmseg.models.utils import resize
from mmseg.registry import MODELS

from ..augmentation.semi_batch import SemiBatch
from ..losses.confident_pseudo_ce_loss import (confident_pseudo_ce,
                                               group_losses)
from ..utils.head_outputs import head_logits
from .method_context import MethodContext


@MODELS.register_module()
class WeakToStrongTerm(nn.Module):
    """The weak-to-strong loss of FixMatch and UniMatch on every strong view.

    A method term of :class:`SemiSegmentor` (``method_losses``): the
    pseudo-labels of the weak view, carried through each strong view's
    geometry and mixing (``SemiBatch.labels[num_labelled:]``), supervise the
    student's prediction on that view, pixels below ``threshold`` ignored
    (:func:`confident_pseudo_ce`). With ``SemiBatch.num_views`` strong views
    (UniMatch's dual-stream perturbation, Sec. 3.3) each view is reduced on
    its own and gets its own key, ``<loss_name>_1``, ``<loss_name>_2``...;
    one view keeps ``loss_name``. ``mask_ratio`` is the share of the weak
    view's valid pixels whose pseudo-label is confident (the authors'
    logged mask ratio).

    Use it with ``pseudo_loss=None`` (it replaces ReCo's Eq. 6 loss).

    Args:
        threshold (float): confidence threshold tau. Default: 0.95.
        loss_weight (float): weight of each view's loss. Default: 1.0.
        loss_name (str): key of the loss. Default: ``'loss_strong'``.
    """

    def __init__(self,
                 threshold: float = 0.95,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_strong') -> None:
        super().__init__()
        if not loss_name.startswith('loss_'):
            raise ValueError('WeakToStrongTerm: loss_name must start with '
                             f"'loss_', got {loss_name!r}")
        self.threshold = threshold
        self.loss_weight = loss_weight
        self.loss_name = loss_name

    def forward(self, context: MethodContext) -> Dict[str, Tensor]:
        """Losses of one batch.

        Args:
            context (MethodContext): ``outputs``, the student head's raw
                outputs on ``batch.inputs``; ``batch``, labels and
                confidence (N, H, W) of the labelled images and of
                ``num_views`` strong views.

        Returns:
            dict[str, Tensor]: one loss per view and ``mask_ratio``.
        """
        batch = context.batch
        num = batch.num_labelled
        labels = batch.labels[num:]
        logits = resize(
            head_logits(context.outputs)[num:],
            size=labels.shape[1:],
            mode='bilinear',
            align_corners=context.align_corners)
        out = confident_pseudo_ce(logits, labels, batch.confidence[num:],
                                  self.threshold, batch.ignore_index,
                                  batch.num_views)
        losses = group_losses(self.loss_name, self.loss_weight * out['loss'])
        losses['mask_ratio'] = self.mask_ratio(batch, out['mask_ratio'])
        return losses

    def mask_ratio(self, batch: SemiBatch, strong_ratio: Tensor) -> Tensor:
        """Share of confident pixels of the weak view (of the strong views'
        valid pixels when the batch has no weak pass)."""
        if batch.weak is None:
            return strong_ratio.mean().detach()
        valid = batch.weak.labels != batch.ignore_index
        confident = valid & (batch.weak.confidence >= self.threshold)
        return (confident.sum() / valid.sum().clamp(min=1)).detach()
