# Copyright (c) mmseg_reco contributors. All rights reserved.
"""Batched, on-device photometric and geometric augmentations.

Every function works on a whole batch at once: random parameters are drawn
per image as tensors on the images' device (optionally from a
``torch.Generator`` on that device, for reproducibility), and are applied
with broadcasting, ``torch.where``, ``grid_sample`` or grouped convolutions.
Nothing loops over images and nothing synchronises with the host.

Conventions:

- ``images``: float (N, 3, H, W), RGB, un-normalised, in ``[0, max_value]``
  (``max_value=255`` for images as they leave the data pipeline).
- ``labels``: long (N, H, W), class indices with ``ignore_index`` pixels.
- ``conf``: float (N, H, W), pseudo-label confidence in ``[0, 1]``.

Photometric operations (colour jitter, Gaussian blur) touch the images only.
Geometric operations (flip, rescale + crop) move image, label and confidence
pixels identically. Labels are always resampled with nearest neighbour.
Confidence is resampled with nearest neighbour by default, as ReCo's
``transform`` does (it resizes the confidence map as a PIL image with
``Image.NEAREST``), or bilinearly on request; bilinear confidence is smoother
but no longer exactly the confidence of the pixel whose label is kept.

The default numbers are those of ReCo's strong augmentation (authors' code,
github.com/lorenmt/reco, ``build_data.transform``): colour jitter with
probability 0.8 and brightness, contrast, saturation factors in
U(0.75, 1.25) and hue shift in U(-0.25, 0.25) (torchvision ``ColorJitter``,
random order of the four operations); Gaussian blur with probability 0.5 and
sigma in U(0.15, 1.15) (PIL ``GaussianBlur(radius=sigma)``, whose radius is
the standard deviation); horizontal flip with probability 0.5.
"""
import math
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .transform_record import rescale_grid, resample

#: Luma weights of ITU-R 601-2, as used by torchvision ``rgb_to_grayscale``.
GRAY_WEIGHTS = (0.2989, 0.587, 0.114)

#: Index of each colour-jitter operation in the random order.
BRIGHTNESS, CONTRAST, SATURATION, HUE = range(4)
NUM_JITTER_OPS = 4


def _uniform(low: float, high: float, size: Sequence[int],
             device: torch.device,
             generator: Optional[torch.Generator]) -> Tensor:
    """Draw U(low, high) samples as a float32 tensor of shape ``size``."""
    u = torch.rand(size, device=device, generator=generator)
    return low + (high - low) * u


def _bernoulli(prob: float, size: Sequence[int], device: torch.device,
               generator: Optional[torch.Generator]) -> Tensor:
    """Draw a bool tensor that is True with probability ``prob``."""
    return torch.rand(size, device=device, generator=generator) < prob


# ---------------------------------------------------------------------------
# Colour jitter
# ---------------------------------------------------------------------------
def rgb_to_grayscale(images: Tensor) -> Tensor:
    """Luma of RGB images.

    Args:
        images (Tensor): RGB images, shape (N, 3, H, W).

    Returns:
        Tensor: Grey images, shape (N, 1, H, W).
    """
    r, g, b = images.unbind(dim=1)
    gray = GRAY_WEIGHTS[0] * r + GRAY_WEIGHTS[1] * g + GRAY_WEIGHTS[2] * b
    return gray.unsqueeze(1)


def _blend(images: Tensor, other: Tensor, factor: Tensor,
           max_value: float) -> Tensor:
    """``factor * images + (1 - factor) * other``, clamped to the range."""
    factor = factor.view(-1, 1, 1, 1).to(images.dtype)
    return (factor * images + (1 - factor) * other).clamp(0, max_value)


def adjust_brightness(images: Tensor,
                      factor: Tensor,
                      max_value: float = 255.) -> Tensor:
    """Scale the intensity of each image by its own factor.

    Args:
        images (Tensor): RGB images in ``[0, max_value]``, shape (N, 3, H, W).
        factor (Tensor): Brightness factor per image, shape (N,). 1 keeps the
            image.
        max_value (float): Upper end of the intensity range. Default: 255.

    Returns:
        Tensor: Adjusted images, shape (N, 3, H, W).
    """
    return _blend(images, torch.zeros_like(images), factor, max_value)


def adjust_contrast(images: Tensor,
                    factor: Tensor,
                    max_value: float = 255.) -> Tensor:
    """Blend each image with its mean grey level (torchvision semantics).

    Args:
        images (Tensor): RGB images in ``[0, max_value]``, shape (N, 3, H, W).
        factor (Tensor): Contrast factor per image, shape (N,). 1 keeps the
            image, 0 gives a uniform grey image.
        max_value (float): Upper end of the intensity range. Default: 255.

    Returns:
        Tensor: Adjusted images, shape (N, 3, H, W).
    """
    mean = rgb_to_grayscale(images).mean(dim=(1, 2, 3), keepdim=True)
    return _blend(images, mean, factor, max_value)


def adjust_saturation(images: Tensor,
                      factor: Tensor,
                      max_value: float = 255.) -> Tensor:
    """Blend each image with its grey version (torchvision semantics).

    Args:
        images (Tensor): RGB images in ``[0, max_value]``, shape (N, 3, H, W).
        factor (Tensor): Saturation factor per image, shape (N,). 1 keeps the
            image, 0 gives its grey version.
        max_value (float): Upper end of the intensity range. Default: 255.

    Returns:
        Tensor: Adjusted images, shape (N, 3, H, W).
    """
    return _blend(images, rgb_to_grayscale(images), factor, max_value)


def rgb_to_hsv(images: Tensor) -> Tensor:
    """Convert RGB in ``[0, 1]`` to HSV in ``[0, 1]`` (hue as a turn fraction).

    Args:
        images (Tensor): RGB images in ``[0, 1]``, shape (N, 3, H, W).

    Returns:
        Tensor: HSV images, shape (N, 3, H, W); hue in ``[0, 1)``.
    """
    r, g, b = images.unbind(dim=1)
    maxc = images.amax(dim=1)
    minc = images.amin(dim=1)
    delta = maxc - minc
    grey = delta == 0
    ones = torch.ones_like(maxc)
    sat = delta / torch.where(maxc == 0, ones, maxc)
    safe_delta = torch.where(grey, ones, delta)
    rc = (maxc - r) / safe_delta
    gc = (maxc - g) / safe_delta
    bc = (maxc - b) / safe_delta
    is_r = maxc == r
    is_g = (maxc == g) & ~is_r
    hue = torch.where(is_r, bc - gc,
                      torch.where(is_g, 2.0 + rc - bc, 4.0 + gc - rc))
    hue = torch.where(grey, torch.zeros_like(hue), hue)
    hue = torch.remainder(hue / 6.0, 1.0)
    return torch.stack((hue, sat, maxc), dim=1)


def hsv_to_rgb(images: Tensor) -> Tensor:
    """Convert HSV in ``[0, 1]`` (hue as a turn fraction) to RGB in ``[0, 1]``.

    Args:
        images (Tensor): HSV images, shape (N, 3, H, W).

    Returns:
        Tensor: RGB images in ``[0, 1]``, shape (N, 3, H, W).
    """
    hue, sat, val = images.unbind(dim=1)
    h6 = hue * 6.0
    sector = torch.floor(h6)
    frac = h6 - sector
    sector = torch.remainder(sector.long(), 6)
    p = (val * (1 - sat)).clamp(0, 1)
    q = (val * (1 - sat * frac)).clamp(0, 1)
    t = (val * (1 - sat * (1 - frac))).clamp(0, 1)
    # Channel values for each of the six hue sectors, shape (3, 6, N, H, W).
    table = torch.stack((
        torch.stack((val, q, p, p, t, val)),
        torch.stack((t, val, val, q, p, p)),
        torch.stack((p, p, t, val, val, q)),
    ))
    index = sector.unsqueeze(0).unsqueeze(0).expand(3, 1, *sector.shape)
    rgb = table.gather(1, index).squeeze(1)  # (3, N, H, W)
    return rgb.transpose(0, 1)


def adjust_hue(images: Tensor,
               shift: Tensor,
               max_value: float = 255.) -> Tensor:
    """Rotate the hue of each image by its own shift.

    The shift follows torchvision's ``adjust_hue`` convention: a fraction of
    a full turn of the hue circle, in ``[-0.5, 0.5]``.

    Args:
        images (Tensor): RGB images in ``[0, max_value]``, shape (N, 3, H, W).
        shift (Tensor): Hue shift per image, shape (N,). 0 keeps the hue.
        max_value (float): Upper end of the intensity range. Default: 255.

    Returns:
        Tensor: Adjusted images, shape (N, 3, H, W).
    """
    hsv = rgb_to_hsv((images / max_value).clamp(0, 1))
    hue = torch.remainder(hsv[:, 0] + shift.view(-1, 1, 1).to(hsv.dtype), 1.0)
    hsv = torch.cat((hue.unsqueeze(1), hsv[:, 1:]), dim=1)
    return hsv_to_rgb(hsv) * max_value


def color_jitter(images: Tensor,
                 brightness: Tensor,
                 contrast: Tensor,
                 saturation: Tensor,
                 hue: Tensor,
                 order: Optional[Tensor] = None,
                 max_value: float = 255.) -> Tensor:
    """Apply brightness, contrast, saturation and hue changes per image.

    Each image runs the four operations in its own order, as torchvision's
    ``ColorJitter`` does. The batch is processed step by step: at step ``k``
    every image applies the operation ``order[n, k]``; the loop runs over the
    four fixed steps and four operations, never over images.

    Args:
        images (Tensor): RGB images in ``[0, max_value]``, shape (N, 3, H, W).
        brightness (Tensor): Brightness factors, shape (N,).
        contrast (Tensor): Contrast factors, shape (N,).
        saturation (Tensor): Saturation factors, shape (N,).
        hue (Tensor): Hue shifts (fraction of a turn), shape (N,).
        order (Tensor, optional): Order of the operations per image, long
            (N, 4), each row a permutation of (BRIGHTNESS, CONTRAST,
            SATURATION, HUE) = (0, 1, 2, 3). None applies them in this fixed
            order. Default: None.
        max_value (float): Upper end of the intensity range. Default: 255.

    Returns:
        Tensor: Jittered images, shape (N, 3, H, W).
    """
    ops = (
        (adjust_brightness, brightness),
        (adjust_contrast, contrast),
        (adjust_saturation, saturation),
        (adjust_hue, hue),
    )
    if order is None:
        for op, factor in ops:
            images = op(images, factor, max_value)
        return images
    for step in range(NUM_JITTER_OPS):
        for op_index, (op, factor) in enumerate(ops):
            selected = (order[:, step] == op_index).view(-1, 1, 1, 1)
            images = torch.where(selected, op(images, factor, max_value),
                                 images)
    return images


def random_color_jitter(images: Tensor,
                        prob: float = 0.8,
                        brightness: Tuple[float, float] = (0.75, 1.25),
                        contrast: Tuple[float, float] = (0.75, 1.25),
                        saturation: Tuple[float, float] = (0.75, 1.25),
                        hue: Tuple[float, float] = (-0.25, 0.25),
                        random_order: bool = True,
                        max_value: float = 255.,
                        generator: Optional[torch.Generator] = None) -> Tensor:
    """Colour jitter with per-image random factors and apply-probability.

    Defaults follow ReCo's ``transform`` (``torch.rand(1) > 0.2`` then
    ``ColorJitter.get_params((0.75, 1.25), (0.75, 1.25), (0.75, 1.25),
    (-0.25, 0.25))``).

    Args:
        images (Tensor): RGB images in ``[0, max_value]``, shape (N, 3, H, W).
        prob (float): Probability that an image is jittered. Default: 0.8.
        brightness (tuple[float, float]): Range of the brightness factor.
            Default: (0.75, 1.25).
        contrast (tuple[float, float]): Range of the contrast factor.
            Default: (0.75, 1.25).
        saturation (tuple[float, float]): Range of the saturation factor.
            Default: (0.75, 1.25).
        hue (tuple[float, float]): Range of the hue shift, as a fraction of a
            turn (torchvision convention, within [-0.5, 0.5]).
            Default: (-0.25, 0.25).
        random_order (bool): Draw a random order of the four operations per
            image, as torchvision does. Default: True.
        max_value (float): Upper end of the intensity range. Default: 255.
        generator (torch.Generator, optional): Source of randomness, on the
            images' device. Default: None (global RNG).

    Returns:
        Tensor: Images, shape (N, 3, H, W), in ``[0, max_value]``.
    """
    assert -0.5 <= hue[0] <= hue[1] <= 0.5, 'hue range must lie in [-0.5, 0.5]'
    num, device = images.shape[0], images.device
    apply = _bernoulli(prob, (num, ), device, generator)
    factors = [
        _uniform(*rng, (num, ), device, generator)
        for rng in (brightness, contrast, saturation, hue)
    ]
    order = None
    if random_order:
        order = torch.rand((num, NUM_JITTER_OPS),
                           device=device,
                           generator=generator).argsort(dim=1)
    jittered = color_jitter(images, *factors, order=order, max_value=max_value)
    return torch.where(apply.view(-1, 1, 1, 1), jittered, images)


# ---------------------------------------------------------------------------
# Gaussian blur
# ---------------------------------------------------------------------------
def gaussian_kernel_size(max_sigma: float, truncate: float = 3.0) -> int:
    """Odd kernel size that covers ``truncate`` standard deviations.

    Args:
        max_sigma (float): Largest standard deviation the kernel must hold.
        truncate (float): Half-width of the kernel in standard deviations.
            Default: 3.0 (OpenCV's rule for 8-bit images).

    Returns:
        int: ``2 * ceil(truncate * max_sigma) + 1``.
    """
    return 2 * int(math.ceil(truncate * max_sigma)) + 1


def gaussian_blur(images: Tensor, sigma: Tensor, kernel_size: int) -> Tensor:
    """Blur each image with its own isotropic Gaussian.

    The blur is separable: one horizontal and one vertical 1-D convolution,
    each a grouped convolution with one kernel per (image, channel), computed
    in float32 with reflect padding (replicate where the image is too small
    to reflect).

    Args:
        images (Tensor): Images, shape (N, C, H, W).
        sigma (Tensor): Standard deviation per image in pixels, shape (N,).
        kernel_size (int): Odd kernel size shared by the batch.

    Returns:
        Tensor: Blurred images, shape (N, C, H, W), same dtype as ``images``.
    """
    assert kernel_size % 2 == 1, 'kernel_size must be odd'
    num, channels, height, width = images.shape
    half = kernel_size // 2
    with torch.autocast(device_type=images.device.type, enabled=False):
        x = images.float()
        offsets = torch.arange(
            -half, half + 1, device=images.device, dtype=torch.float32)
        sigma = sigma.float().clamp_min(torch.finfo(torch.float32).tiny)
        kernel = torch.exp(-offsets.square() / (2 * sigma.view(-1, 1)**2))
        kernel = kernel / kernel.sum(dim=1, keepdim=True)  # (N, K)
        kernel = kernel.repeat_interleave(channels, dim=0)  # (N * C, K)
        mode = 'reflect' if min(height, width) > half else 'replicate'
        x = F.pad(x, (half, half, half, half), mode=mode)
        x = x.reshape(1, num * channels, height + 2 * half, width + 2 * half)
        groups = num * channels
        x = F.conv2d(x, kernel.view(groups, 1, 1, kernel_size), groups=groups)
        x = F.conv2d(x, kernel.view(groups, 1, kernel_size, 1), groups=groups)
    return x.view(num, channels, height, width).to(images.dtype)


def random_gaussian_blur(
        images: Tensor,
        prob: float = 0.5,
        sigma_range: Tuple[float, float] = (0.15, 1.15),
        truncate: float = 3.0,
        generator: Optional[torch.Generator] = None) -> Tensor:
    """Gaussian blur with per-image sigma and apply-probability.

    Defaults follow ReCo's ``transform`` (``torch.rand(1) > 0.5`` then
    ``ImageFilter.GaussianBlur(radius=random.uniform(0.15, 1.15))``).

    Args:
        images (Tensor): Images, shape (N, C, H, W).
        prob (float): Probability that an image is blurred. Default: 0.5.
        sigma_range (tuple[float, float]): Range of the standard deviation in
            pixels. Default: (0.15, 1.15).
        truncate (float): Kernel half-width in standard deviations of the
            largest sigma. Default: 3.0.
        generator (torch.Generator, optional): Source of randomness, on the
            images' device. Default: None (global RNG).

    Returns:
        Tensor: Images, shape (N, C, H, W).
    """
    num, device = images.shape[0], images.device
    apply = _bernoulli(prob, (num, ), device, generator)
    sigma = _uniform(*sigma_range, (num, ), device, generator)
    kernel_size = gaussian_kernel_size(sigma_range[1], truncate)
    blurred = gaussian_blur(images, sigma, kernel_size)
    return torch.where(apply.view(-1, 1, 1, 1), blurred, images)


# ---------------------------------------------------------------------------
# Geometric operations
# ---------------------------------------------------------------------------
def hflip(images: Tensor, labels: Optional[Tensor], conf: Optional[Tensor],
          flip: Tensor) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
    """Mirror the selected images (and their labels, confidence) left-right.

    Args:
        images (Tensor): Images, shape (N, C, H, W).
        labels (Tensor, optional): Labels, shape (N, H, W).
        conf (Tensor, optional): Confidence, shape (N, H, W).
        flip (Tensor): Bool per image, shape (N,); True flips.

    Returns:
        tuple: ``(images, labels, conf)`` with the input shapes; ``None``
        inputs stay ``None``.
    """
    images = torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)
    flip = flip.view(-1, 1, 1)
    if labels is not None:
        labels = torch.where(flip, labels.flip(-1), labels)
    if conf is not None:
        conf = torch.where(flip, conf.flip(-1), conf)
    return images, labels, conf


def random_flags(prob: float,
                 num: int,
                 device: Optional[torch.device] = None,
                 generator: Optional[torch.Generator] = None) -> Tensor:
    """Per-image flip draws of :func:`random_hflip`.

    Args:
        prob (float): Flip probability.
        num (int): Batch size N.
        device (torch.device, optional): Device of the draws.
        generator (torch.Generator, optional): Source of randomness.

    Returns:
        Tensor: (N,) bool, True flips.
    """
    return _bernoulli(prob, (num, ), device, generator)


def random_hflip(
    images: Tensor,
    labels: Optional[Tensor] = None,
    conf: Optional[Tensor] = None,
    prob: float = 0.5,
    generator: Optional[torch.Generator] = None
) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
    """Horizontal flip with a per-image probability.

    Args:
        images (Tensor): Images, shape (N, C, H, W).
        labels (Tensor, optional): Labels, shape (N, H, W). Default: None.
        conf (Tensor, optional): Confidence, shape (N, H, W). Default: None.
        prob (float): Flip probability (ReCo: 0.5). Default: 0.5.
        generator (torch.Generator, optional): Source of randomness, on the
            images' device. Default: None (global RNG).

    Returns:
        tuple: ``(images, labels, conf)`` with the input shapes.
    """
    flip = random_flags(prob, images.shape[0], images.device, generator)
    return hflip(images, labels, conf, flip)


def rescale_crop(
    images: Tensor,
    labels: Optional[Tensor],
    conf: Optional[Tensor],
    scale: Tensor,
    top: Tensor,
    left: Tensor,
    ignore_index: int = 255,
    conf_mode: str = 'nearest',
    padding_mode: str = 'reflection'
) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
    """Rescale each image by its own factor and crop back to (H, W).

    Image ``n`` is resized to ``(floor(H * s_n), floor(W * s_n))``, padded at
    the bottom and right up to at least (H, W), and cropped at
    ``(top_n, left_n)`` to (H, W), as ReCo's ``transform``. All three steps
    are one ``grid_sample`` per tensor with a per-image sampling grid. The
    image is sampled bilinearly (no antialiasing, unlike PIL's resize, so
    strong down-scaling aliases slightly); the padded area is the image's
    reflection (ReCo: ``padding_mode='reflect'``). Labels are sampled with
    nearest neighbour and padded with ``ignore_index``; confidence with
    ``conf_mode`` and padded with 0, as ReCo does.

    Args:
        images (Tensor): Images, shape (N, C, H, W).
        labels (Tensor, optional): Labels, long (N, H, W).
        conf (Tensor, optional): Confidence, float (N, H, W).
        scale (Tensor): Scale factor per image, shape (N,).
        top (Tensor): Crop offset in rows of the resized and padded image,
            shape (N,), integer-valued.
        left (Tensor): Crop offset in columns, shape (N,), integer-valued.
        ignore_index (int): Label of padded pixels. Default: 255.
        conf_mode (str): ``'nearest'`` or ``'bilinear'`` resampling of the
            confidence. Default: 'nearest'.
        padding_mode (str): ``grid_sample`` padding of the image.
            Default: 'reflection'.

    Returns:
        tuple: ``(images, labels, conf)`` with the input shapes.
    """
    assert conf_mode in ('nearest', 'bilinear')
    with torch.autocast(device_type=images.device.type, enabled=False):
        grid, valid = rescale_grid(scale, top, left, images.shape[-2:])
        out_images = F.grid_sample(
            images.float(),
            grid,
            mode='bilinear',
            padding_mode=padding_mode,
            align_corners=False).to(images.dtype)
        if labels is not None:
            labels = resample(labels, grid, valid, ignore_index)
        if conf is not None:
            conf = resample(conf, grid, valid, 0., conf_mode)
    return out_images, labels, conf


def draw_rescale_crop(
    num: int,
    size: Tuple[int, int],
    scale_range: Tuple[float, float],
    device: Optional[torch.device] = None,
    generator: Optional[torch.Generator] = None
) -> Tuple[Tensor, Tensor, Tensor]:
    """The random draws of :func:`random_rescale_crop`.

    Args:
        num (int): Batch size N.
        size (tuple[int, int]): Image size (H, W).
        scale_range (tuple[float, float]): Range of the scale factor.
        device (torch.device, optional): Device of the draws.
        generator (torch.Generator, optional): Source of randomness, on
            ``device``. Default: None (global RNG).

    Returns:
        tuple[Tensor, Tensor, Tensor]: scale, top and left, each (N,): the
        scale drawn from U(scale_range), the crop offsets uniform over the
        valid positions of the resized image (0 along a padded axis).
    """
    height, width = size
    scale = _uniform(*scale_range, (num, ), device, generator)
    u = torch.rand((2, num), device=device, generator=generator)
    span_h = (torch.floor(height * scale).clamp_min(height) - height)
    span_w = (torch.floor(width * scale).clamp_min(width) - width)
    top = torch.minimum(torch.floor(u[0] * (span_h + 1)), span_h)
    left = torch.minimum(torch.floor(u[1] * (span_w + 1)), span_w)
    return scale, top, left


def random_rescale_crop(
    images: Tensor,
    labels: Optional[Tensor] = None,
    conf: Optional[Tensor] = None,
    scale_range: Tuple[float, float] = (0.5, 1.5),
    ignore_index: int = 255,
    conf_mode: str = 'nearest',
    padding_mode: str = 'reflection',
    generator: Optional[torch.Generator] = None
) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
    """Random rescale per image, then a random crop back to (H, W).

    The scale is drawn from U(scale_range) per image; the crop position is
    uniform over the valid offsets of the resized image (0 along an axis that
    had to be padded). ReCo uses (0.5, 1.5) for Pascal VOC and SUN RGB-D and
    (1.0, 1.0), i.e. no rescale, for Cityscapes (``BuildDataLoader``).

    Args:
        images (Tensor): Images, shape (N, C, H, W).
        labels (Tensor, optional): Labels, long (N, H, W). Default: None.
        conf (Tensor, optional): Confidence, float (N, H, W). Default: None.
        scale_range (tuple[float, float]): Range of the scale factor.
            Default: (0.5, 1.5).
        ignore_index (int): Label of padded pixels. Default: 255.
        conf_mode (str): ``'nearest'`` or ``'bilinear'``. Default: 'nearest'.
        padding_mode (str): ``grid_sample`` padding of the image.
            Default: 'reflection'.
        generator (torch.Generator, optional): Source of randomness, on the
            images' device. Default: None (global RNG).

    Returns:
        tuple: ``(images, labels, conf)`` with the input shapes.
    """
    num, _, height, width = images.shape
    scale, top, left = draw_rescale_crop(num, (height, width), scale_range,
                                         images.device, generator)
    return rescale_crop(
        images,
        labels,
        conf,
        scale,
        top,
        left,
        ignore_index=ignore_index,
        conf_mode=conf_mode,
        padding_mode=padding_mode)
