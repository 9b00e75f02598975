"""The image-level discriminator of S4GAN."""
from typing import Tuple

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmseg.registry import MODELS
from mmseg.utils import OptConfigType


@MODELS.register_module()
class S4GANDiscriminator(BaseModule):
    """Judges an image together with a class-probability map, per image.

    `Semi-Supervised Semantic Segmentation with High- and Low-level
    Consistency <https://arxiv.org/abs/1908.05724>`_ (Mittal et al., TPAMI
    2019), s4GAN branch: the discriminator sees the image concatenated with a
    segmentation map, either the one-hot ground truth ("real") or the
    softmax prediction of the segmentation network ("fake"), and outputs one
    score per image. Its pooled last-layer features also serve the
    generator's feature-matching loss::

        x (N, 3+K, H, W) ─> [conv4x4 s2 -> LeakyReLU -> Dropout2d] x (n-1)
                         ─> conv4x4 s2 -> LeakyReLU
                         ─> global average pooling ─> feats (N, C)
                         ─> fc ─> logits (N,)

    The authors' code (github.com/sud0301/semisup-semseg,
    ``model/discriminator.py``) uses four convolutions with 64, 128, 256 and
    512 channels, LeakyReLU(0.2), Dropout2d(0.5) after the first three, an
    average pooling of fixed size (20x20 for 321x321 VOC crops, 16x32 for
    Cityscapes) and a sigmoid after the fc layer. Here the pooling is global
    (any input size) and the sigmoid is left to the loss
    (``binary_cross_entropy_with_logits``, numerically stable); otherwise the
    defaults reproduce that network.

    Input channel order: the image first, then the ``num_classes`` maps
    (the authors concatenate the maps first; the order is a convention of
    the caller and the network is the same).

    Args:
        num_classes (int): K, the number of class-probability maps.
        in_channels (int): image channels. Default: 3.
        base_channels (int): channels of the first convolution, doubled by
            each further one (``ndf`` of the authors). Default: 64.
        num_convs (int): number of stride-2 convolutions. Default: 4.
        kernel_size (int): kernel of the convolutions (stride 2, padding
            ``(kernel_size - 1) // 2``). Default: 4.
        negative_slope (float): slope of the LeakyReLU. Default: 0.2.
        dropout_ratio (float): Dropout2d probability after every
            convolution but the last. Default: 0.5.
        init_cfg (dict, optional): initialisation config. Default: PyTorch's
            initialisation, as the authors'.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int = 3,
                 base_channels: int = 64,
                 num_convs: int = 4,
                 kernel_size: int = 4,
                 negative_slope: float = 0.2,
                 dropout_ratio: float = 0.5,
                 init_cfg: OptConfigType = None):
        super().__init__(init_cfg=init_cfg)
        assert num_classes > 0, f'num_classes must be > 0, got {num_classes}'
        assert num_convs > 0, f'num_convs must be > 0, got {num_convs}'
        assert 0 <= dropout_ratio < 1, (
            f'dropout_ratio must be in [0, 1), got {dropout_ratio}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        layers = []
        channels = in_channels + num_classes
        for i in range(num_convs):
            out_channels = base_channels * 2**i
            layers += [
                nn.Conv2d(
                    channels,
                    out_channels,
                    kernel_size,
                    stride=2,
                    padding=(kernel_size - 1) // 2),
                nn.LeakyReLU(negative_slope, inplace=True)
            ]
            if i < num_convs - 1 and dropout_ratio > 0:
                layers.append(nn.Dropout2d(dropout_ratio))
            channels = out_channels
        self.convs = nn.Sequential(*layers)
        self.feat_channels = channels
        self.fc = nn.Linear(channels, 1)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Score image + segmentation-map pairs.

        Args:
            x (Tensor): (N, 3 + K, H, W) the image (scaled to [0, 1])
                concatenated with K class-probability (or one-hot) maps.

        Returns:
            tuple[Tensor, Tensor]: ``logits`` (N,), the real-vs-fake logit of
            every image (sigmoid: probability of "real"), and ``feats``
            (N, C), the globally pooled last-layer features used by the
            feature-matching loss (C = ``base_channels * 2**(num_convs-1)``).
        """
        expected = self.in_channels + self.num_classes
        assert x.dim() == 4 and x.shape[1] == expected, (
            f'expected (N, {expected}, H, W) input, got {tuple(x.shape)}')
        feats = self.convs(x).mean(dim=(2, 3))
        logits = self.fc(feats).squeeze(1)
        return logits, feats
