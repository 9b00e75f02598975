"""ReCo's regional contrast inside the mean teacher (ReCo Eq. 6)."""
from typing import Any, Dict

import torch.nn as nn
from torch import Tensor

from mmseg.registry import MODELS
from mmseg.utils import ConfigType

from ..utils.semi_batch import SemiBatch


@MODELS.register_module()
class ReCoSemiLoss(nn.Module):
    """The ``L_reco`` term of ReCo's semi-supervised total (Eq. 6).

    One ReCo loss over labelled pixels (ground truth) and the strong views of
    unlabelled pixels (mixed pseudo-labels), as the authors compute it: the
    prototypes, relation graph and negatives are shared by both. Unlabelled
    pixels take part only where the teacher's confidence is at least
    ``weak_threshold``; labelled pixels have confidence 1. A method term of
    :class:`SemiSegmentor` (``method_losses``).

    The student's decode head must be a :class:`RepresentationHead` with
    ``loss_rep=None``: the loss lives here, so that the supervised part of
    the step does not count ReCo a second time on labelled pixels.

    Args:
        loss (dict): the ReCo loss config. Default: ``dict(type='ReCoLoss')``.
        weak_threshold (float): minimum teacher confidence (softmax
            probability) of an unlabelled pixel. Default: 0.7 (ReCo code).
    """

    def __init__(self,
                 loss: ConfigType = dict(type='ReCoLoss'),
                 weak_threshold: float = 0.7):
        super().__init__()
        self.loss = MODELS.build(loss)
        self.weak_threshold = weak_threshold

    def forward(self, model: nn.Module, outputs: Any,
                batch: SemiBatch) -> Dict[str, Tensor]:
        """ReCo loss of one batch.

        Args:
            model (nn.Module): the :class:`SemiSegmentor`.
            outputs (tuple[Tensor, Tensor]): the student head's logits
                (N, K, h, w) and representation (N, D, h', w').
            batch (SemiBatch): labels (N, H, W) and confidence (N, H, W).

        Returns:
            dict[str, Tensor]: the ReCo loss and its statistics.
        """
        head = model.student.decode_head
        if not hasattr(head, 'loss_rep_by_feat'):
            raise TypeError('ReCoSemiLoss needs a RepresentationHead, got '
                            f'{type(head).__name__}')
        if head.loss_rep is not None:
            raise ValueError(
                'the RepresentationHead of a semi-supervised ReCo model must '
                'have loss_rep=None (ReCoSemiLoss computes the loss over '
                'labelled and unlabelled pixels together)')
        logits, rep = outputs
        valid = batch.confidence >= self.weak_threshold
        return head.loss_rep_by_feat(
            logits, rep, batch.labels, valid, loss_rep=self.loss)
