"""UniMatch's feature-perturbation stream (Yang et al., CVPR 2023, arXiv
2208.09910, Sec. 3.2)."""
from typing import Dict

import torch.nn as nn
from torch import Tensor

from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType

from ..augmentation.semi_batch import SemiBatch
from ..losses.confident_pseudo_ce_loss import confident_pseudo_ce
from ..utils.head_outputs import head_logits
from .method_context import MethodContext


@MODELS.register_module()
class FeaturePerturbationTerm(nn.Module):
    """The student decodes perturbed features of the weak view.

    UniMatch, Sec. 3.2: the weak view's encoder features, perturbed (channel
    dropout 0.5, :class:`FeatureDropout`), go through the same decode head,
    and the weak view's own pseudo-labels supervise the result with the
    loss of :func:`confident_pseudo_ce`::

        p_fp = head(perturb(backbone(x_w)))
        L_fp = 1 / |V| * sum_{i in V} 1[c_i >= tau] * H(y_i, p_fp_i)

    The perturbation takes the list of feature maps that
    ``decode_head.forward`` receives and returns one of the same shapes, so
    every mmseg decode head and a :class:`RepresentationHead` around one
    work unchanged; only this branch is perturbed.

    With ``SemiSegmentor(teacher='self')`` the weak features are those of
    the student's pass over the labelled and weak images (one backbone pass
    for the labelled, weak and fp streams, as the authors' code); with the
    EMA teacher the student runs its backbone on the weak view here.

    A method term of :class:`SemiSegmentor` (``method_losses``).

    Args:
        perturbation (dict): the feature perturbation config.
            Default: ``dict(type='FeatureDropout', p=0.5)``.
        threshold (float): confidence threshold tau. Default: 0.95.
        loss_weight (float): weight of the loss. Default: 1.0.
        loss_name (str): key of the loss. Default: ``'loss_fp'``.
    """

    def __init__(self,
                 perturbation: ConfigType = dict(
                     type='FeatureDropout', p=0.5),
                 threshold: float = 0.95,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_fp') -> None:
        super().__init__()
        if not loss_name.startswith('loss_'):
            raise ValueError('FeaturePerturbationTerm: loss_name must start '
                             f"with 'loss_', got {loss_name!r}")
        self.perturbation = MODELS.build(perturbation)
        self.threshold = threshold
        self.loss_weight = loss_weight
        self.loss_name = loss_name

    def forward(self, context: MethodContext) -> Dict[str, Tensor]:
        """The fp loss of one batch.

        Args:
            context (MethodContext): ``batch.weak``, the weak pass: weak
                images (Nu, 3, H, W), pseudo-labels and confidence
                (Nu, H, W), and with ``teacher='self'`` the student's weak
                features; ``student``, whose head decodes the perturbed
                features.

        Returns:
            dict[str, Tensor]: ``{loss_name: loss}``.
        """
        batch = context.batch
        student = context.student
        weak = batch.weak
        if weak is None:
            raise ValueError(
                'FeaturePerturbationTerm needs SemiBatch.weak (the weak '
                'pass of SemiSegmentor.loss); it cannot run on a batch '
                'built without it')
        feats = weak.student_feats
        if feats is None:
            feats = student.extract_feat(weak.inputs)
        head_out = student.decode_head.forward(self.perturbation(feats))
        logits = resize(
            head_logits(head_out),
            size=weak.labels.shape[1:],
            mode='bilinear',
            align_corners=context.align_corners)
        out = confident_pseudo_ce(logits, weak.labels, weak.confidence,
                                  self.threshold, batch.ignore_index)
        return {self.loss_name: self.loss_weight * out['loss'][0]}
