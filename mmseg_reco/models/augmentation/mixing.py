# Copyright (c) mmseg_reco contributors. All rights reserved.
"""Batched mixing augmentations: ClassMix, CutMix and CutOut.

All three are computed for the whole batch at once on the images' device;
random draws are batched tensors (optionally from a ``torch.Generator`` on
that device) and nothing synchronises with the host.

Mixing follows ReCo's ``generate_unsup_data`` (authors' code,
github.com/lorenmt/reco, ``module_list.py``): the partner of image ``i`` is
image ``(i + 1) mod N`` (a batch of one is its own partner), and for a keep
mask ``M_i`` (1 = keep image ``i``)::

    out_i = M_i * x_i + (1 - M_i) * x_{(i + 1) mod N}

for the image, the label and the confidence alike, so the three stay aligned
pixel for pixel.

- ClassMix: ``M_i`` marks the pixels of a random half of the classes present
  in label ``i``; those pixels of image ``i`` are pasted onto its partner.
- CutMix: ``M_i`` is 0 inside a random box of half the image area; the box
  is taken from the partner.
- CutOut: the box is erased in place: the image is filled with
  ``fill``, the label set to ``ignore_index`` and the confidence to 0.
"""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

#: Number of label values an mmseg label map can hold (8-bit PNG): the class
#: table size of ClassMix when ``num_classes`` is not given.
LABEL_VALUE_RANGE = 256

#: ImageNet mean in [0, 255] RGB: the mean of mmseg's usual
#: ``SegDataPreProcessor``; it becomes 0 after normalisation.
IMAGENET_MEAN_RGB = (123.675, 116.28, 103.53)

MixOutput = Tuple[Tensor, Tensor, Optional[Tensor]]


def partner(x: Tensor) -> Tensor:
    """Batch rolled by one: element ``i`` is ``x[(i + 1) % N]``.

    Args:
        x (Tensor): Any batched tensor, shape (N, ...).

    Returns:
        Tensor: Shape (N, ...).
    """
    return torch.roll(x, shifts=-1, dims=0)


def mix_images(images: Tensor,
               keep: Tensor,
               fill: Optional[Union[float, Sequence[float]]] = None) -> Tensor:
    """Keep image ``i`` where ``keep`` is True; elsewhere its partner's
    pixels, or ``fill`` (CutOut).

    Args:
        images (Tensor): Images, shape (N, C, H, W).
        keep (Tensor): Keep mask, bool (N, H, W).
        fill (float | Sequence[float], optional): Image value outside
            ``keep``, one value or one per channel; None takes the partner's
            pixels. Default: None.

    Returns:
        Tensor: (N, C, H, W).
    """
    if fill is None:
        other = partner(images)
    else:
        other = torch.as_tensor(
            fill, dtype=images.dtype, device=images.device).reshape(-1, 1, 1)
    return torch.where(keep.unsqueeze(1), images, other)


def mix_with_partner(images: Tensor, labels: Tensor, conf: Optional[Tensor],
                     keep: Tensor) -> MixOutput:
    """Keep image ``i`` where ``keep`` is True, elsewhere take its partner.

    Args:
        images (Tensor): Images, shape (N, C, H, W).
        labels (Tensor): Labels, long (N, H, W).
        conf (Tensor, optional): Confidence, float (N, H, W).
        keep (Tensor): Keep mask, bool (N, H, W).

    Returns:
        tuple: ``(images, labels, conf)`` with the input shapes.
    """
    images = mix_images(images, keep)
    labels = torch.where(keep, labels, partner(labels))
    if conf is not None:
        conf = torch.where(keep, conf, partner(conf))
    return images, labels, conf


def generate_class_mask(labels: Tensor,
                        num_classes: Optional[int] = None,
                        ignore_index: int = 255,
                        round_up: bool = False,
                        generator: Optional[torch.Generator] = None) -> Tensor:
    """Per image, the pixels of a random half of the classes it contains.

    For each image, the classes present in its label map (``ignore_index``
    and values outside ``[0, num_classes)`` are not classes) get random
    scores; the ``n // 2`` with the lowest scores are selected, where ``n``
    is the number of present classes (ReCo's ``generate_class_mask``:
    ``labels[torch.randperm(len(labels))][:len(labels) // 2]``). With
    ``round_up=True`` it selects ``(n + 1) // 2`` as the original ClassMix
    code (Olsson et al., WACV 2021) does. Differences from ReCo's code: the
    ignore label is never a selectable class (ReCo's ``torch.unique`` counts
    its -1 label as one), and the whole batch is done at once: a selection
    table (N, num_classes) built from ranks of random scores is indexed with
    the label map. Absent classes never count, so ``num_classes`` only
    bounds the table: without it the table spans every 8-bit label value
    (:data:`LABEL_VALUE_RANGE`) and the result is the same.

    Args:
        labels (Tensor): Labels, long (N, H, W).
        num_classes (int, optional): Number of classes C; label values
            ``>= C`` are not classes. Default: None (C = 256).
        ignore_index (int): Label that is not a class. Default: 255.
        round_up (bool): Select ``ceil(n / 2)`` instead of ``floor(n / 2)``
            classes. Default: False.
        generator (torch.Generator, optional): Source of randomness, on the
            labels' device. Default: None (global RNG).

    Returns:
        Tensor: Bool mask (N, H, W), True on pixels of the selected classes.
    """
    if num_classes is None:
        num_classes = LABEL_VALUE_RANGE
    num = labels.shape[0]
    flat = labels.reshape(num, -1)
    is_class = (flat >= 0) & (flat < num_classes) & (flat != ignore_index)
    # Non-class pixels go to an extra column C that is never selected.
    index = torch.where(is_class, flat, torch.full_like(flat, num_classes))
    present = torch.zeros((num, num_classes + 1),
                          dtype=torch.bool,
                          device=labels.device)
    present.scatter_(1, index, True)
    present = present[:, :num_classes]
    count = present.sum(dim=1, keepdim=True)  # (N, 1)
    num_select = (count + 1) // 2 if round_up else count // 2
    scores = torch.rand((num, num_classes),
                        device=labels.device,
                        generator=generator)
    # Absent classes rank after every present class.
    scores = torch.where(present, scores, torch.full_like(scores, 2.0))
    rank = scores.argsort(dim=1).argsort(dim=1)
    selected = present & (rank < num_select)
    selected = torch.cat((selected, selected.new_zeros((num, 1))), dim=1)
    return selected.gather(1, index).view_as(labels)


def generate_box_mask(num: int,
                      height: int,
                      width: int,
                      area_ratio: float = 0.5,
                      device: Optional[torch.device] = None,
                      generator: Optional[torch.Generator] = None) -> Tensor:
    """One random axis-aligned box per image covering ``area_ratio`` of it.

    As ReCo's ``generate_cutout_mask`` (``ratio = 1 / area_ratio = 2``): the
    box width ``w`` is uniform over the integers
    ``[floor(W * area_ratio) + 1, W - 1]``, its height is
    ``h = round(H * W * area_ratio / w)``, and its top-left corner is uniform
    over the positions that keep the box inside the image. The area is
    ``H * W * area_ratio`` up to rounding (at most ``w / 2`` pixels off).
    The box is not square: its aspect ratio varies with ``w``.

    Args:
        num (int): Batch size N.
        height (int): Image height H.
        width (int): Image width W.
        area_ratio (float): Fraction of the image area covered by the box.
            Default: 0.5.
        device (torch.device, optional): Device of the mask. Default: None.
        generator (torch.Generator, optional): Source of randomness, on
            ``device``. Default: None (global RNG).

    Returns:
        Tensor: Bool mask (N, H, W), True inside the box.
    """
    assert 0 < area_ratio < 1, 'area_ratio must be in (0, 1)'
    area = height * width * area_ratio
    w_low = min(int(width * area_ratio) + 1, width - 1)
    w_high = max(width - 1, w_low)  # inclusive
    u = torch.rand((3, num), device=device, generator=generator)
    box_w = (w_low + torch.floor(u[0] *
                                 (w_high - w_low + 1))).clamp_max(w_high)
    box_h = torch.round(area / box_w).clamp(1, height)
    x0 = torch.minimum(torch.floor(u[1] * (width - box_w + 1)), width - box_w)
    y0 = torch.minimum(
        torch.floor(u[2] * (height - box_h + 1)), height - box_h)
    cols = torch.arange(width, device=device, dtype=box_w.dtype).view(1, -1)
    rows = torch.arange(height, device=device, dtype=box_w.dtype).view(1, -1)
    in_x = (cols >= x0.view(-1, 1)) & (cols < (x0 + box_w).view(-1, 1))
    in_y = (rows >= y0.view(-1, 1)) & (rows < (y0 + box_h).view(-1, 1))
    return in_y.view(num, height, 1) & in_x.view(num, 1, width)


def class_mix(images: Tensor,
              labels: Tensor,
              conf: Optional[Tensor] = None,
              *,
              num_classes: Optional[int] = None,
              ignore_index: int = 255,
              round_up: bool = False,
              generator: Optional[torch.Generator] = None) -> MixOutput:
    """ClassMix: paste half of each image's classes onto its partner.

    Output ``i`` holds the pixels of image ``i`` whose label is one of its
    selected classes (:func:`generate_class_mask`) and image ``i + 1``
    everywhere else; image, label and confidence are mixed identically.

    Args:
        images (Tensor): Images, shape (N, C, H, W).
        labels (Tensor): Pseudo-labels, long (N, H, W).
        conf (Tensor, optional): Confidence, float (N, H, W). Default: None.
        num_classes (int, optional): Number of classes C (keyword only);
            see :func:`generate_class_mask`. Default: None.
        ignore_index (int): Label that is not a class. Default: 255.
        round_up (bool): Select ``ceil(n / 2)`` classes. Default: False.
        generator (torch.Generator, optional): Source of randomness.
            Default: None (global RNG).

    Returns:
        tuple: ``(images, labels, conf)`` with the input shapes.
    """
    assert num_classes is None or num_classes > 0, \
        'num_classes must be positive'
    keep = generate_class_mask(labels, num_classes, ignore_index, round_up,
                               generator)
    return mix_with_partner(images, labels, conf, keep)


def cut_mix(images: Tensor,
            labels: Tensor,
            conf: Optional[Tensor] = None,
            area_ratio: float = 0.5,
            generator: Optional[torch.Generator] = None) -> MixOutput:
    """CutMix: a random box of image ``i + 1`` pasted onto image ``i``.

    Args:
        images (Tensor): Images, shape (N, C, H, W).
        labels (Tensor): Pseudo-labels, long (N, H, W).
        conf (Tensor, optional): Confidence, float (N, H, W). Default: None.
        area_ratio (float): Box area over image area. Default: 0.5.
        generator (torch.Generator, optional): Source of randomness.
            Default: None (global RNG).

    Returns:
        tuple: ``(images, labels, conf)`` with the input shapes.
    """
    num, _, height, width = images.shape
    box = generate_box_mask(num, height, width, area_ratio, images.device,
                            generator)
    return mix_with_partner(images, labels, conf, ~box)


def cut_out(images: Tensor,
            labels: Tensor,
            conf: Optional[Tensor] = None,
            area_ratio: float = 0.5,
            fill: Union[float, Sequence[float]] = IMAGENET_MEAN_RGB,
            ignore_index: int = 255,
            generator: Optional[torch.Generator] = None) -> MixOutput:
    """CutOut: erase a random box of each image.

    Inside the box the image is set to ``fill``, the label to
    ``ignore_index`` and the confidence to 0. ReCo multiplies the
    ImageNet-normalised image by the mask, i.e. the box becomes 0 after
    normalisation; on un-normalised images this is the normalisation mean,
    hence the default ``fill``. Pass ``fill=0.`` for a black box.

    Args:
        images (Tensor): Un-normalised images, shape (N, C, H, W).
        labels (Tensor): Pseudo-labels, long (N, H, W).
        conf (Tensor, optional): Confidence, float (N, H, W). Default: None.
        area_ratio (float): Box area over image area. Default: 0.5.
        fill (float | Sequence[float]): Image value inside the box, one value
            or one per channel. Default: ImageNet mean (123.675, 116.28,
            103.53).
        ignore_index (int): Label inside the box. Default: 255.
        generator (torch.Generator, optional): Source of randomness.
            Default: None (global RNG).

    Returns:
        tuple: ``(images, labels, conf)`` with the input shapes.
    """
    num, _, height, width = images.shape
    box = generate_box_mask(num, height, width, area_ratio, images.device,
                            generator)
    images = mix_images(images, ~box, fill)
    labels = torch.where(box, torch.full_like(labels, ignore_index), labels)
    if conf is not None:
        conf = torch.where(box, torch.zeros_like(conf), conf)
    return images, labels, conf


@MODELS.register_module()
class ClassMix(nn.Module):
    """Module form of :func:`class_mix`.

    A mixing module of :class:`StrongAugment` draws a keep mask
    (:meth:`mask`); ``erase`` tells whether the pixels outside it are erased
    (CutOut) or taken from the partner.

    Args:
        num_classes (int, optional): Number of classes C; only bounds the
            class table. Default: None (every 8-bit label value).
        ignore_index (int): Label that is not a class. Default: 255.
        round_up (bool): Select ``ceil(n / 2)`` of the ``n`` present classes
            (original ClassMix) instead of ``floor(n / 2)`` (ReCo's code).
            Default: False.
    """
    erase = False

    def __init__(self,
                 num_classes: Optional[int] = None,
                 ignore_index: int = 255,
                 round_up: bool = False) -> None:
        super().__init__()
        assert num_classes is None or num_classes > 0
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.round_up = round_up

    def mask(self,
             labels: Tensor,
             generator: Optional[torch.Generator] = None) -> Tensor:
        """Keep mask of :func:`class_mix` (:func:`generate_class_mask`).

        Args:
            labels (Tensor): The map whose classes are selected, long
                (N, H, W).
            generator (torch.Generator, optional): Source of randomness.

        Returns:
            Tensor: Bool (N, H, W), True where image ``i`` is kept.
        """
        return generate_class_mask(labels, self.num_classes, self.ignore_index,
                                   self.round_up, generator)

    def forward(self,
                images: Tensor,
                labels: Tensor,
                conf: Optional[Tensor] = None,
                generator: Optional[torch.Generator] = None) -> MixOutput:
        """Mix a batch; shapes as in :func:`class_mix`."""
        return class_mix(
            images,
            labels,
            conf,
            num_classes=self.num_classes,
            ignore_index=self.ignore_index,
            round_up=self.round_up,
            generator=generator)


@MODELS.register_module()
class CutMix(nn.Module):
    """Module form of :func:`cut_mix`.

    Args:
        area_ratio (float): Box area over image area (ReCo: ``ratio=2``).
            Default: 0.5.
    """
    erase = False

    def __init__(self, area_ratio: float = 0.5) -> None:
        super().__init__()
        assert 0 < area_ratio < 1
        self.area_ratio = area_ratio

    def mask(self,
             labels: Tensor,
             generator: Optional[torch.Generator] = None) -> Tensor:
        """Keep mask: False inside a random box (:func:`generate_box_mask`).

        Args:
            labels (Tensor): Any (N, H, W) map of the batch (size and
                device).
            generator (torch.Generator, optional): Source of randomness.

        Returns:
            Tensor: Bool (N, H, W), True outside the box.
        """
        num, height, width = labels.shape
        return ~generate_box_mask(num, height, width, self.area_ratio,
                                  labels.device, generator)

    def forward(self,
                images: Tensor,
                labels: Tensor,
                conf: Optional[Tensor] = None,
                generator: Optional[torch.Generator] = None) -> MixOutput:
        """Mix a batch; shapes as in :func:`cut_mix`."""
        return cut_mix(images, labels, conf, self.area_ratio, generator)


@MODELS.register_module()
class CutOut(CutMix):
    """Module form of :func:`cut_out`: CutMix's box (:meth:`CutMix.mask`),
    erased instead of pasted.

    Args:
        area_ratio (float): Box area over image area (ReCo: ``ratio=2``).
            Default: 0.5.
        fill (float | Sequence[float]): Image value in the box, in the
            un-normalised range. Default: ImageNet mean (0 after
            normalisation, as in ReCo).
        ignore_index (int): Label in the box. Default: 255.
    """
    erase = True

    def __init__(self,
                 area_ratio: float = 0.5,
                 fill: Union[float, Sequence[float]] = IMAGENET_MEAN_RGB,
                 ignore_index: int = 255) -> None:
        super().__init__(area_ratio)
        self.fill = fill
        self.ignore_index = ignore_index

    def forward(self,
                images: Tensor,
                labels: Tensor,
                conf: Optional[Tensor] = None,
                generator: Optional[torch.Generator] = None) -> MixOutput:
        """Erase a box per image; shapes as in :func:`cut_out`."""
        return cut_out(images, labels, conf, self.area_ratio, self.fill,
                       self.ignore_index, generator)
