"""Feature perturbation of UniMatch's fp stream: channel dropout on the
features a decode head receives."""
from typing import List, Sequence

import torch.nn as nn
from torch import Tensor

from mmseg.registry import MODELS


@MODELS.register_module()
class FeatureDropout(nn.Module):
    """Channel dropout (``nn.Dropout2d``) on every feature map of a list.

    UniMatch (Yang et al., CVPR 2023, arXiv 2208.09910, Sec. 3.2, the
    feature-perturbation stream) drops whole channels of the encoder
    features with probability 0.5 before the decoder; for DeepLabV3+ the
    authors drop both the low-level (c1) and the high-level (c4) features,
    each with its own draw. Applied to the list of backbone/neck feature
    maps that ``decode_head.forward`` takes, it perturbs exactly what any
    mmseg decode head reads (DeepLabV3+ reads ``feats[0]`` and
    ``feats[3]``, PSPNet/FCN ``feats[3]``, UPerNet and SegFormer all four),
    so the head itself is used unchanged. A :class:`RepresentationHead`
    passes the list on to the head it wraps.

    Each map gets its own independent draw per image and channel; kept
    channels are scaled by ``1 / (1 - p)``. In eval mode the maps pass
    unchanged (``nn.Dropout2d``).

    Args:
        p (float): probability of zeroing a channel. Default: 0.5.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f'FeatureDropout: p must be in [0, 1), got {p}')
        self.dropout = nn.Dropout2d(p)

    def forward(self, feats: Sequence[Tensor]) -> List[Tensor]:
        """Perturb a list of (N, C_i, h_i, w_i) maps; same shapes back."""
        return [self.dropout(feat) for feat in feats]
