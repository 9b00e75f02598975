"""FixMatch's weak-to-strong consistency for segmentation, as UniMatch
re-implements it (Yang et al., CVPR 2023, arXiv 2208.09910, Sec. 3.1)."""
from typing import Dict

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg.models.utils import resize
from mmseg.registry import MODELS

from ..augmentation.semi_batch import SemiBatch
from ..utils.head_outputs import head_logits
from .method_context import MethodContext


def confident_pseudo_ce(logits: Tensor,
                        labels: Tensor,
                        confidence: Tensor,
                        threshold: float = 0.95,
                        ignore_index: int = 255,
                        num_groups: int = 1) -> Dict[str, Tensor]:
    """Cross-entropy on confident pseudo-labels, averaged over valid pixels.

    UniMatch, Sec. 3.1 (FixMatch's unlabelled loss)::

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
        if batch.num_views == 1:
            losses = {self.loss_name: self.loss_weight * out['loss'][0]}
        else:
            losses = {
                f'{self.loss_name}_{view + 1}': self.loss_weight * loss
                for view, loss in enumerate(out['loss'].unbind())
            }
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
