"""What a method term of :class:`SemiSegmentor` is given for one step."""
from dataclasses import dataclass
from typing import Any, Optional

import torch.nn as nn

from ..augmentation.semi_batch import SemiBatch


@dataclass
class MethodContext:
    """The one argument of a method term (``term(context) -> dict``).

    A term reads these fields only, never the segmentor: the segmentor
    builds the context once per step (``SemiSegmentor.method_context``).

    Attributes:
        outputs (Any): the student decode head's raw outputs on
            ``batch.inputs`` (labelled images, then the strong views), with
            gradient: logits (N, K, h, w), ``(logits, rep)`` of a
            ``RepresentationHead``, or a ``RegionHead``'s dict.
        batch (SemiBatch): the batch record: inputs, labels, confidence,
            the weak pass (``batch.weak``, with the teacher's outputs as
            ``batch.teacher_outputs``) and the strong views' transform
            record (``batch.transform``).
        student (nn.Module, optional): the student segmentor, for terms
            that run its backbone or head again (UniMatch's
            feature-perturbation stream, ReCo's representation loss of the
            head).
        teacher (nn.Module, optional): the pseudo-labeller (the EMA
            teacher, or the student with ``teacher='self'``), for terms that
            run it (the memory bank's candidates).
        rampup (float): the sigmoid ramp-up of the unsupervised weight at
            this iteration, in [0, 1]. Default: 1.0.
        iteration (int): the training iteration (warm-ups). Default: 0.
        align_corners (bool): ``align_corners`` of the student's resizes.
            Default: False.
        sup_weight (float): the weight of the supervised loss
            (``semi_train_cfg.sup_weight``), for terms weighed relative to
            it. Default: 1.0.
    """
    outputs: Any
    batch: SemiBatch
    student: Optional[nn.Module] = None
    teacher: Optional[nn.Module] = None
    rampup: float = 1.0
    iteration: int = 0
    align_corners: bool = False
    sup_weight: float = 1.0
