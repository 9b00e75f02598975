"""The targets of one semi-supervised step, shared by the method losses."""
from dataclasses import dataclass
from typing import Any, List, Optional

from torch import Tensor

from .transform_record import TransformRecord


@dataclass
class WeakPass:
    """The pseudo-labelling pass over the weak unlabelled view.

    With the EMA teacher (``SemiSegmentor(teacher='ema')``) the teacher runs
    alone on the weak images; with ``teacher='self'`` the student runs once
    on the labelled images and the weak images together (as UniMatch's and
    FixMatch's authors do), and the pass also keeps the student's features
    and its labelled outputs, with their gradient.

    Attributes:
        inputs (Tensor): (Nu, 3, H, W) normalised weak unlabelled images.
        labels (Tensor): (Nu, H, W) long pixel pseudo-labels (partial
            labels merged in).
        confidence (Tensor): (Nu, H, W) float, their maximum softmax
            probability (1 where a partial label is known).
        outputs (Any): the pseudo-labelling head's raw outputs on the weak
            images, without gradient.
        student_feats (list[Tensor], optional): ``teacher='self'`` only: the
            student's backbone/neck features of the weak images (Nu, C, h,
            w), with gradient (UniMatch's feature-perturbation stream decodes
            them).
        labelled_feats (list[Tensor], optional): ``teacher='self'`` only: the
            student's features of the labelled images (Nl, C, h, w).
        labelled_outputs (Any): ``teacher='self'`` only: the student head's
            raw outputs on the labelled images, with gradient.
    """
    inputs: Tensor
    labels: Tensor
    confidence: Tensor
    outputs: Any = None
    student_feats: Optional[List[Tensor]] = None
    labelled_feats: Optional[List[Tensor]] = None
    labelled_outputs: Any = None


@dataclass
class SemiBatch:
    """Everything a method loss may need about one semi-supervised batch.

    The student ran on ``inputs`` = labelled images followed by
    ``num_views`` strong (mixed) views of the unlabelled images, view after
    view: images ``num_labelled + v * Nu`` to ``num_labelled + (v + 1) * Nu``
    are view ``v``.

    Attributes:
        num_labelled (int): the first ``num_labelled`` images are labelled.
        inputs (Tensor): (N, 3, H, W) normalised student inputs,
            N = Nl + num_views * Nu.
        labels (Tensor): (N, H, W) long, ground truth for labelled images
            and mixed pseudo-labels for unlabelled ones; ``ignore_index``
            where unknown.
        confidence (Tensor): (N, H, W) float, 1 for labelled pixels and the
            teacher's mixed confidence for unlabelled ones (0 where cut out).
        data_samples (list): the labelled images' ``SegDataSample``s.
        teacher_outputs (Any): raw teacher decode-head outputs on the weak,
            unmixed unlabelled view (no gradient); ``weak.outputs``.
        ignore_index (int): the ignore label.
        num_views (int): strong views per unlabelled image. Default: 1.
        weak (WeakPass, optional): the pass over the weak view.
        transform (TransformRecord, optional): what the strong views did to
            the weak view's pixels (rescale + crop, mix, flip), all views;
            :func:`project_target` maps any other (Nu, H, W) target of the
            weak view into the strong views (Nu * num_views rows) as the
            pseudo-labels were mapped.
    """
    num_labelled: int
    inputs: Tensor
    labels: Tensor
    confidence: Tensor
    data_samples: list
    teacher_outputs: Any = None
    ignore_index: int = 255
    num_views: int = 1
    weak: Optional[WeakPass] = None
    transform: Optional[TransformRecord] = None
