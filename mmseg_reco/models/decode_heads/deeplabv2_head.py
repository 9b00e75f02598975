"""DeepLabV2's ASPP classifier as an mmseg decode head."""
from typing import List, Sequence

import torch.nn as nn
from torch import Tensor

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS

__all__ = ['ASPPV2Classifier', 'DeepLabV2Head']


class ASPPV2Classifier(nn.Module):
    """Parallel dilated 3x3 convolutions to the classes, outputs summed.

    The atrous spatial pyramid pooling of DeepLabV2 (Chen et al., TPAMI
    2017, "ASPP-L"): one 3x3 convolution with bias per dilation rate, each
    mapping the backbone feature straight to the class scores.

    Args:
        in_channels (int): channels of the input feature.
        num_classes (int): output channels.
        dilations (Sequence[int]): one branch per rate.
    """

    def __init__(self, in_channels: int, num_classes: int,
                 dilations: Sequence[int]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(
                in_channels,
                num_classes,
                kernel_size=3,
                padding=d,
                dilation=d,
                bias=True) for d in dilations)

    def forward(self, x: Tensor) -> Tensor:
        """(N, in_channels, h, w) -> (N, num_classes, h, w)."""
        out = self.convs[0](x)
        for conv in self.convs[1:]:
            out = out + conv(x)
        return out


@MODELS.register_module()
class DeepLabV2Head(BaseDecodeHead):
    """DeepLabV2 decode head: the ASPP-V2 classifier on one backbone level.

    Unlike the other mmseg heads there is no ``channels``-wide feature
    before a 1x1 classifier: the four dilated convolutions of
    :class:`ASPPV2Classifier` (``self.aspp``) read the backbone feature
    (2048 channels for ResNet-101, ``in_index=3``) and output the classes
    directly. ``BaseDecodeHead``'s ``conv_seg`` and dropout are therefore
    removed (so no parameter is left without gradient under DDP), and
    ``tap='cls_seg'`` of :class:`RepresentationHead` / :class:`CMBHead`
    does not apply. Those wrappers tap ``tap='aspp'`` instead: the feature
    entering the classifier, i.e. the ``in_channels``-wide backbone feature
    at the output stride (8 for ``-d8`` backbones), which their projection
    MLP maps to its own dimension (``tap_channels`` is inferred as
    ``in_channels``).

    The classifier convolutions are initialised from N(0, 0.01) with zero
    bias, like DeepLabV2's classifier and mmseg's ``conv_seg``.

    Args:
        dilations (Sequence[int]): rates of the parallel branches.
            Default: (6, 12, 18, 24) (DeepLabV2, ASPP-L).
        **kwargs: :class:`BaseDecodeHead` arguments; ``channels`` defaults
            to ``in_channels`` (it is not used) and ``dropout_ratio`` to 0.
    """

    def __init__(self,
                 dilations: Sequence[int] = (6, 12, 18, 24),
                 **kwargs) -> None:
        kwargs.setdefault('channels', kwargs.get('in_channels'))
        kwargs.setdefault('dropout_ratio', 0.0)
        kwargs.setdefault(
            'init_cfg',
            dict(type='Normal', std=0.01, bias=0, override=dict(name='aspp')))
        super().__init__(**kwargs)
        assert isinstance(self.in_channels, int), \
            'DeepLabV2Head reads a single backbone level (in_index: int)'
        assert len(dilations) >= 1
        self.dilations = tuple(dilations)
        del self.conv_seg
        self.dropout = None
        self.aspp = ASPPV2Classifier(self.in_channels, self.out_channels,
                                     self.dilations)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Class scores (N, num_classes, h, w) of the selected level."""
        return self.aspp(self._transform_inputs(inputs))
