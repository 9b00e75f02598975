"""The targets of one semi-supervised step, shared by the method losses."""
from dataclasses import dataclass
from typing import Any

from torch import Tensor


@dataclass
class SemiBatch:
    """Everything a method loss may need about one semi-supervised batch.

    The student ran once on ``inputs`` = labelled images followed by the
    strong (mixed) views of the unlabelled images.

    Attributes:
        num_labelled (int): the first ``num_labelled`` images are labelled.
        inputs (Tensor): (N, 3, H, W) normalised student inputs.
        labels (Tensor): (N, H, W) long, ground truth for labelled images
            and mixed pseudo-labels for unlabelled ones; ``ignore_index``
            where unknown. With ``method_targets`` the unlabelled part holds
            the strong view of a method term's own map instead.
        confidence (Tensor): (N, H, W) float, 1 for labelled pixels and the
            teacher's mixed confidence for unlabelled ones (0 where cut out),
            or the strong view of the method term's float map.
        data_samples (list): the labelled images' ``SegDataSample``s.
        teacher_outputs (Any): raw teacher decode-head outputs on the weak,
            unmixed unlabelled view (no gradient).
        ignore_index (int): the ignore label.
        method_targets (bool): the unlabelled ``labels`` and ``confidence``
            are the maps of a method term's ``strong_view_targets`` (see
            :class:`SemiSegmentor`), not pixel pseudo-labels.
    """
    num_labelled: int
    inputs: Tensor
    labels: Tensor
    confidence: Tensor
    data_samples: list
    teacher_outputs: Any = None
    ignore_index: int = 255
    method_targets: bool = False
