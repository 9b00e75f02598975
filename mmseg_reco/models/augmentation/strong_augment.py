# Copyright (c) mmseg_reco contributors. All rights reserved.
"""Batched on-device strong augmentation of ReCo's mean teacher."""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

from .mixing import IMAGENET_MEAN_RGB, mix_images
from .photometric import (draw_rescale_crop, hflip, random_color_jitter,
                          random_flags, random_gaussian_blur, rescale_crop)
from .transform_record import TransformRecord, project_target

#: Names accepted by ``StrongAugment(mix=...)`` and the modules they build.
MIX_TYPES = {'classmix': 'ClassMix', 'cutmix': 'CutMix', 'cutout': 'CutOut'}


@MODELS.register_module()
class StrongAugment(nn.Module):
    """Strong augmentation of a batch, on its device, in ReCo's order.

    ::

        random rescale + crop  (image, label, conf; off for scale (1, 1))
          -> mix               (ClassMix | CutMix | CutOut | none)
          -> horizontal flip   (image, label, conf)
          -> colour jitter     (image only)
          -> Gaussian blur     (image only)

    Defaults are those of the authors' code (github.com/lorenmt/reco):
    ``train_semisup.py`` calls ``batch_transform`` with the dataset's scale
    range and no augmentation, then ``generate_unsup_data`` (mix), then
    ``batch_transform`` with scale (1, 1) and ``build_data.transform``'s
    augmentation: colour jitter with probability 0.8 (``torch.rand(1) >
    0.2``), brightness, contrast and saturation factors in U(0.75, 1.25) and
    hue shift in U(-0.25, 0.25); Gaussian blur with probability 0.5 and sigma
    in U(0.15, 1.15); horizontal flip with probability 0.5. ReCo's scale
    range is (0.5, 1.5) for Pascal VOC and SUN RGB-D and (1.0, 1.0) for
    Cityscapes (``BuildDataLoader``); the default here is (1.0, 1.0) and the
    dataset configs set theirs. ReCo runs jitter and blur before the flip;
    the flip commutes with both, so the order here is equivalent.

    Every random draw is per image (batched tensors on the images' device);
    see :mod:`.mixing` and :mod:`.photometric` for the exact semantics and
    their differences from the authors' PIL implementation.

    Args:
        mix (str | dict, optional): ``'classmix'``, ``'cutmix'``,
            ``'cutout'``, a config dict of a mixing module, or None for no
            mixing (labelled images). Default: 'classmix'.
        num_classes (int, optional): Number of classes for ``'classmix'``;
            it only bounds ClassMix's class table (see
            :func:`.mixing.generate_class_mask`). Default: None.
        scale_range (tuple[float, float]): Range of the random rescale;
            (1.0, 1.0) turns it off. Default: (1.0, 1.0).
        flip_prob (float): Horizontal flip probability. Default: 0.5.
        jitter_prob (float): Colour jitter probability. Default: 0.8.
        brightness (tuple[float, float]): Brightness factor range.
            Default: (0.75, 1.25).
        contrast (tuple[float, float]): Contrast factor range.
            Default: (0.75, 1.25).
        saturation (tuple[float, float]): Saturation factor range.
            Default: (0.75, 1.25).
        hue (tuple[float, float]): Hue shift range, fraction of a turn
            (torchvision convention). Default: (-0.25, 0.25).
        jitter_random_order (bool): Random order of the four jitter
            operations per image, as torchvision's ``ColorJitter``.
            Default: True.
        blur_prob (float): Gaussian blur probability. Default: 0.5.
        blur_sigma (tuple[float, float]): Blur standard deviation range in
            pixels (PIL ``GaussianBlur`` radius). Default: (0.15, 1.15).
        blur_truncate (float): Blur kernel half-width in standard deviations
            of the largest sigma. Default: 3.0.
        mix_area_ratio (float): Box area over image area for CutMix and
            CutOut (ReCo: ``generate_cutout_mask(ratio=2)``). Default: 0.5.
        cutout_fill (float | Sequence[float]): Image value in the CutOut box,
            un-normalised. Default: ImageNet mean (0 after normalisation, as
            ReCo).
        classmix_round_up (bool): ClassMix selects ``ceil(n / 2)`` of the
            ``n`` present classes instead of ReCo's ``floor(n / 2)``.
            Default: False.
        ignore_index (int): Ignore label. Default: 255.
        conf_mode (str): Resampling of the confidence in the rescale,
            ``'nearest'`` (ReCo) or ``'bilinear'``. Default: 'nearest'.
        padding_mode (str): Image padding of the rescale when it shrinks the
            image (``grid_sample`` mode; ReCo pads by reflection).
            Default: 'reflection'.
        max_value (float): Upper end of the image range. Default: 255.
    """

    def __init__(self,
                 mix: Optional[Union[str, dict]] = 'classmix',
                 num_classes: Optional[int] = None,
                 scale_range: Tuple[float, float] = (1.0, 1.0),
                 flip_prob: float = 0.5,
                 jitter_prob: float = 0.8,
                 brightness: Tuple[float, float] = (0.75, 1.25),
                 contrast: Tuple[float, float] = (0.75, 1.25),
                 saturation: Tuple[float, float] = (0.75, 1.25),
                 hue: Tuple[float, float] = (-0.25, 0.25),
                 jitter_random_order: bool = True,
                 blur_prob: float = 0.5,
                 blur_sigma: Tuple[float, float] = (0.15, 1.15),
                 blur_truncate: float = 3.0,
                 mix_area_ratio: float = 0.5,
                 cutout_fill: Union[float,
                                    Sequence[float]] = IMAGENET_MEAN_RGB,
                 classmix_round_up: bool = False,
                 ignore_index: int = 255,
                 conf_mode: str = 'nearest',
                 padding_mode: str = 'reflection',
                 max_value: float = 255.) -> None:
        super().__init__()
        assert 0 < scale_range[0] <= scale_range[1]
        assert conf_mode in ('nearest', 'bilinear')
        for prob in (flip_prob, jitter_prob, blur_prob):
            assert 0 <= prob <= 1
        self.scale_range = tuple(scale_range)
        self.flip_prob = flip_prob
        self.jitter_prob = jitter_prob
        self.brightness = tuple(brightness)
        self.contrast = tuple(contrast)
        self.saturation = tuple(saturation)
        self.hue = tuple(hue)
        self.jitter_random_order = jitter_random_order
        self.blur_prob = blur_prob
        self.blur_sigma = tuple(blur_sigma)
        self.blur_truncate = blur_truncate
        self.ignore_index = ignore_index
        self.conf_mode = conf_mode
        self.padding_mode = padding_mode
        self.max_value = max_value
        self.mixer = self._build_mixer(mix, num_classes, mix_area_ratio,
                                       cutout_fill, classmix_round_up,
                                       ignore_index)

    @staticmethod
    def _build_mixer(mix: Optional[Union[str,
                                         dict]], num_classes: Optional[int],
                     area_ratio: float, fill: Union[float, Sequence[float]],
                     round_up: bool, ignore_index: int) -> Optional[nn.Module]:
        """Build the mixing module from its name or config."""
        if mix is None:
            return None
        if isinstance(mix, dict):
            return MODELS.build(mix)
        assert mix in MIX_TYPES, \
            f'mix must be one of {sorted(MIX_TYPES)} or None, got {mix!r}'
        if mix == 'classmix':
            cfg = dict(
                num_classes=num_classes,
                ignore_index=ignore_index,
                round_up=round_up)
        elif mix == 'cutmix':
            cfg = dict(area_ratio=area_ratio)
        else:
            cfg = dict(
                area_ratio=area_ratio, fill=fill, ignore_index=ignore_index)
        return MODELS.build(dict(type=MIX_TYPES[mix], **cfg))

    @property
    def rescale_enabled(self) -> bool:
        """Whether the random rescale does anything."""
        return self.scale_range != (1.0, 1.0)

    def forward(
            self,
            images: Tensor,
            labels: Tensor,
            conf: Optional[Tensor] = None,
            generator: Optional[torch.Generator] = None,
            apply_mix: bool = True) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """Augment a batch; :meth:`augment` without its record.

        Returns:
            tuple: ``(images, labels, conf)``, see :meth:`augment`.
        """
        return self.augment(images, labels, conf, generator, apply_mix)[:3]

    def augment(
        self,
        images: Tensor,
        labels: Tensor,
        conf: Optional[Tensor] = None,
        generator: Optional[torch.Generator] = None,
        apply_mix: bool = True,
        mix_labels: Optional[Tensor] = None
    ) -> Tuple[Tensor, Tensor, Optional[Tensor], TransformRecord]:
        """Augment a batch and record what moved its pixels.

        Args:
            images (Tensor): RGB images, un-normalised, in
                ``[0, max_value]``, float (N, 3, H, W).
            labels (Tensor): Labels or pseudo-labels with ``ignore_index``,
                long (N, H, W).
            conf (Tensor, optional): Pseudo-label confidence in [0, 1],
                float (N, H, W); None for labelled images. Default: None.
            generator (torch.Generator, optional): Source of randomness, on
                the images' device. Default: None (global RNG).
            apply_mix (bool): Set False to skip the mixing step, e.g. for
                labelled images. Default: True.
            mix_labels (Tensor, optional): long (N, H, W), the map whose
                classes ClassMix selects instead of ``labels`` (a region
                method's teacher segments); values outside the ClassMix
                table or equal to ``ignore_index`` are never selected.
                Default: None.

        Returns:
            tuple: ``(images, labels, conf, record)``: the input shapes
            (images keep their dtype and range, ``conf`` is None if it was
            None) and the :class:`TransformRecord` of the rescale, mix and
            flip, through which :func:`project_target` maps any other
            (N, H, W) target as ``labels`` and ``conf`` were mapped.
        """
        assert images.dim() == 4 and labels.shape == (
            images.shape[0], *images.shape[2:]), \
            'images must be (N, C, H, W) and labels (N, H, W)'
        dtype = images.dtype
        num = images.shape[0]
        device = images.device
        record = TransformRecord(size=tuple(images.shape[-2:]), num_images=num)
        with torch.autocast(device_type=device.type, enabled=False):
            images = images.float()
            if self.rescale_enabled:
                record.scale, record.top, record.left = draw_rescale_crop(
                    num, record.size, self.scale_range, device, generator)
                images = rescale_crop(
                    images,
                    None,
                    None,
                    record.scale,
                    record.top,
                    record.left,
                    padding_mode=self.padding_mode)[0]
            if apply_mix and self.mixer is not None:
                select = labels if mix_labels is None else mix_labels
                record.keep = self.mixer.mask(
                    project_target(record, select, self.ignore_index),
                    generator)
                record.erase = self.mixer.erase
                images = mix_images(images, record.keep,
                                    self.mixer.fill if record.erase else None)
            record.flip = random_flags(self.flip_prob, num, device, generator)
            images = hflip(images, None, None, record.flip)[0]
            labels = project_target(record, labels, self.ignore_index)
            if conf is not None:
                conf = project_target(record, conf, 0., self.conf_mode)
            images = random_color_jitter(
                images,
                prob=self.jitter_prob,
                brightness=self.brightness,
                contrast=self.contrast,
                saturation=self.saturation,
                hue=self.hue,
                random_order=self.jitter_random_order,
                max_value=self.max_value,
                generator=generator)
            images = random_gaussian_blur(
                images,
                prob=self.blur_prob,
                sigma_range=self.blur_sigma,
                truncate=self.blur_truncate,
                generator=generator)
        return images.to(dtype), labels, conf, record

    def extra_repr(self) -> str:
        return (f'scale_range={self.scale_range}, flip_prob={self.flip_prob}, '
                f'jitter_prob={self.jitter_prob}, blur_prob={self.blur_prob}')
