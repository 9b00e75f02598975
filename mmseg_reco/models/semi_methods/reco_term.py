"""ReCo's regional contrast inside the mean teacher (ReCo Eq. 6)."""
from typing import Any, Dict, Optional

import torch
import torch.nn as nn
from torch import Tensor

from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType

from ..augmentation.semi_batch import SemiBatch
from ..decode_heads.representation_head import RepresentationHead
from ..utils.loss_dicts import reweight_loss_dict
from .method_context import MethodContext


@MODELS.register_module()
class ReCoTerm(nn.Module):
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

    Partial labels (ReCo Table 3): with ``partial_threshold`` set, the
    unknown (``ignore_index``) pixels of labelled images where the student's
    maximum softmax probability reaches the threshold also take part, labelled
    with the student's prediction (:meth:`fill_confident_predictions`). The
    paper does not describe this step; it follows the authors'
    ``train_semisup_partial.py``, which uses the fixed threshold 0.97 there.
    With ``partial_threshold`` >= the ReCo loss's ``strong_threshold`` these
    pixels are easy (up to the resizing of the logits): they enter the
    class prototypes and the negative keys, hardly ever the hard queries.

    Weight: ReCo's total weighs ``L_reco`` as much as the supervised loss
    (``sup_loss + unsup_loss + reco_loss``, the authors' code), so with
    ``relative_to_supervised`` the term is multiplied by the step's
    ``sup_weight`` (:class:`MethodContext`): 1 in the mean teachers, 0.5 in
    FixMatch and UniMatch, whose total halves the supervised loss. The
    ReCo loss's own ``loss_weight`` multiplies on top.

    Args:
        loss (dict): the ReCo loss config. Default: ``dict(type='ReCoLoss')``.
        weak_threshold (float): minimum teacher confidence (softmax
            probability) of an unlabelled pixel. Default: 0.7 (ReCo code).
        partial_threshold (float, optional): minimum student confidence of an
            unknown pixel of a labelled image to join with the student's
            prediction as its label. None (default) keeps only the ground
            truth; 0.97 in the partial-label configs (ReCo code).
        relative_to_supervised (bool): multiply the loss by the context's
            ``sup_weight``. Default: True.
    """

    def __init__(self,
                 loss: ConfigType = dict(type='ReCoLoss'),
                 weak_threshold: float = 0.7,
                 partial_threshold: Optional[float] = None,
                 relative_to_supervised: bool = True):
        super().__init__()
        self.loss = MODELS.build(loss)
        self.weak_threshold = weak_threshold
        self.partial_threshold = partial_threshold
        self.relative_to_supervised = relative_to_supervised

    def forward(self, context: MethodContext) -> Dict[str, Tensor]:
        """ReCo loss of one batch.

        Args:
            context (MethodContext): ``outputs``, the student head's logits
                (N, K, h, w) and representation (N, D, h', w'); ``batch``,
                labels (N, H, W) and confidence (N, H, W); ``student``,
                whose :class:`RepresentationHead` computes the loss;
                ``sup_weight``.

        Returns:
            dict[str, Tensor]: the ReCo loss and its statistics.
        """
        head = context.student.decode_head
        if not isinstance(head, RepresentationHead):
            raise TypeError('ReCoTerm needs a RepresentationHead, got '
                            f'{type(head).__name__}')
        if head.loss_rep is not None:
            raise ValueError(
                'the RepresentationHead of a semi-supervised ReCo model must '
                'have loss_rep=None (ReCoTerm computes the loss over '
                'labelled and unlabelled pixels together)')
        logits, rep = context.outputs
        batch = context.batch
        labels = batch.labels
        if self.partial_threshold is not None:
            labels = self.fill_confident_predictions(logits, batch,
                                                     context.align_corners)
        valid = batch.confidence >= self.weak_threshold
        losses = head.loss_rep_by_feat(
            logits, rep, labels, valid, loss_rep=self.loss)
        if not self.relative_to_supervised:
            return losses
        return reweight_loss_dict(losses, context.sup_weight)

    @torch.no_grad()
    def fill_confident_predictions(self, logits: Tensor, batch: SemiBatch,
                                   align_corners: bool = False) -> Tensor:
        """Labels with the student's confident predictions filled in.

        On the labelled images, every ``ignore_index`` pixel where the
        student's maximum softmax probability (logits resized bilinearly to
        the label size, as the authors do) is at least ``partial_threshold``
        takes the student's predicted class. Known labels and the unlabelled
        images' pseudo-labels are unchanged. Labelled pixels have confidence
        1, so the filled pixels pass the ``weak_threshold`` mask.

        Args:
            logits (Tensor): (N, K, h, w) student logits.
            batch (SemiBatch): labels (N, H, W); the first ``num_labelled``
                are ground truth.
            align_corners (bool): of the bilinear resize. Default: False.

        Returns:
            Tensor: (N, H, W) long labels.
        """
        num = batch.num_labelled
        gt = batch.labels[:num]
        prob = torch.softmax(
            resize(
                logits[:num].detach().float(),
                size=gt.shape[1:],
                mode='bilinear',
                align_corners=align_corners),
            dim=1)
        conf, pred = prob.max(dim=1)
        fill = (gt == batch.ignore_index) & (conf >= self.partial_threshold)
        return torch.cat([torch.where(fill, pred, gt), batch.labels[num:]])
