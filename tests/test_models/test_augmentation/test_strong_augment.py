# Copyright (c) mmseg_reco contributors. All rights reserved.
import colorsys

import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from mmseg_reco.models.augmentation.photometric import (
    BRIGHTNESS, CONTRAST, HUE, SATURATION, adjust_brightness, adjust_contrast,
    adjust_hue, adjust_saturation, color_jitter, gaussian_blur,
    gaussian_kernel_size, hflip, hsv_to_rgb, random_color_jitter,
    random_gaussian_blur, random_hflip, random_rescale_crop, rescale_crop,
    rgb_to_hsv)
from mmseg_reco.models.augmentation.strong_augment import StrongAugment

IGNORE = 255
NUM_CLASSES = 5
OFF = dict(flip_prob=0., jitter_prob=0., blur_prob=0.)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _batch(num=3, height=12, width=16, seed=0):
    g = _gen(seed)
    images = torch.rand((num, 3, height, width), generator=g) * 255
    labels = torch.randint(0, NUM_CLASSES, (num, height, width), generator=g)
    labels[torch.rand(labels.shape, generator=g) < 0.1] = IGNORE
    conf = torch.rand((num, height, width), generator=g)
    return images, labels, conf


def _coordinate_batch(num=3, height=12, width=16, seed=0):
    """Images holding their own (x, y) coordinates; conf encodes the source.

    Channel 0 is x, channel 1 is y, channel 2 the label; conf encodes
    (image index, pixel index), so geometric moves can be traced back.
    """
    g = _gen(seed)
    labels = torch.randint(0, NUM_CLASSES, (num, height, width), generator=g)
    labels[torch.rand(labels.shape, generator=g) < 0.1] = IGNORE
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=torch.float32),
        torch.arange(width, dtype=torch.float32),
        indexing='ij')
    images = torch.stack(
        (xs.expand(num, -1, -1), ys.expand(num, -1, -1), labels.float()), 1)
    idx = torch.arange(num, dtype=torch.float32).view(-1, 1, 1)
    conf = (idx * height * width + ys * width + xs + 0.5) / (
        num * height * width)
    return images, labels, conf


def _decode(conf, num, height, width):
    code = torch.floor(conf * num * height * width).long()
    n, pix = code // (height * width), code % (height * width)
    return n, pix // width, pix % width


# ---------------------------------------------------------------------------
# Colour jitter
# ---------------------------------------------------------------------------
def test_single_jitter_ops_match_definitions():
    images, _, _ = _batch()
    f = torch.tensor([0.5, 1.0, 1.7])
    gray = (0.2989 * images[:, 0] + 0.587 * images[:, 1] +
            0.114 * images[:, 2]).unsqueeze(1)
    fv = f.view(-1, 1, 1, 1)
    torch.testing.assert_close(
        adjust_brightness(images, f), (fv * images).clamp(0, 255))
    mean = gray.mean(dim=(1, 2, 3), keepdim=True)
    torch.testing.assert_close(
        adjust_contrast(images, f),
        (fv * images + (1 - fv) * mean).clamp(0, 255))
    torch.testing.assert_close(
        adjust_saturation(images, f),
        (fv * images + (1 - fv) * gray).clamp(0, 255))
    # Factor 1 is the identity for all three.
    for op in (adjust_brightness, adjust_contrast, adjust_saturation):
        assert torch.equal(op(images[1:2], f[1:2]), images[1:2])


def test_hsv_round_trip_and_hue_against_colorsys():
    images, _, _ = _batch(num=2, height=4, width=5)
    images[0, :, 0, 0] = 128.  # grey pixel
    images[0, :, 0, 1] = 0.  # black pixel
    rgb = images / 255
    torch.testing.assert_close(hsv_to_rgb(rgb_to_hsv(rgb)), rgb)
    shift = torch.tensor([0.2, -0.3])
    out = adjust_hue(images, shift)
    for n in range(2):
        for i in range(4):
            for j in range(5):
                h, s, v = colorsys.rgb_to_hsv(*rgb[n, :, i, j].tolist())
                ref = colorsys.hsv_to_rgb((h + shift[n].item()) % 1, s, v)
                torch.testing.assert_close(
                    out[n, :, i, j] / 255,
                    torch.tensor(ref),
                    atol=1e-5,
                    rtol=0)


def test_hue_shift_turns_red_into_green():
    red = torch.zeros(1, 3, 2, 2)
    red[:, 0] = 200.
    green = adjust_hue(red, torch.tensor([1 / 3]))
    torch.testing.assert_close(
        green[0, :, 0, 0], torch.tensor([0., 200., 0.]), atol=1e-3, rtol=0)


def test_color_jitter_order():
    images, _, _ = _batch(num=2)
    b = torch.tensor([1.2, 1.2])
    c = torch.tensor([0.8, 0.8])
    s = torch.tensor([1.1, 1.1])
    h = torch.tensor([0.1, 0.1])
    fixed = color_jitter(images, b, c, s, h)
    order = torch.tensor([[BRIGHTNESS, CONTRAST, SATURATION, HUE],
                          [HUE, SATURATION, CONTRAST, BRIGHTNESS]])
    ordered = color_jitter(images, b, c, s, h, order=order)
    torch.testing.assert_close(ordered[0], fixed[0])
    assert not torch.allclose(ordered[1], fixed[1], atol=1e-2)
    # Image 1 reversed equals applying the ops one by one in reverse.
    x = images[1:]
    for op, f in ((adjust_hue, h), (adjust_saturation, s),
                  (adjust_contrast, c), (adjust_brightness, b)):
        x = op(x, f[1:])
    torch.testing.assert_close(ordered[1:], x)


def test_random_color_jitter_probability_and_range():
    images, _, _ = _batch(num=64, height=4, width=4)
    out = random_color_jitter(images, prob=0., generator=_gen())
    assert torch.equal(out, images)
    out = random_color_jitter(images, prob=1., generator=_gen())
    assert out.min() >= 0 and out.max() <= 255
    changed = (out - images).abs().flatten(1).amax(1) > 1e-3
    assert changed.all()
    out = random_color_jitter(images, prob=0.8, generator=_gen())
    changed = (out - images).abs().flatten(1).amax(1) > 1e-3
    assert 0.6 < changed.float().mean() < 0.95
    unchanged = ~changed
    assert torch.equal(out[unchanged], images[unchanged])


# ---------------------------------------------------------------------------
# Gaussian blur
# ---------------------------------------------------------------------------
def test_gaussian_blur_matches_per_image_reference():
    images, _, _ = _batch(num=3, height=10, width=11)
    sigma = torch.tensor([0.15, 0.6, 1.15])
    size = gaussian_kernel_size(1.15, 3.0)
    assert size == 9
    out = gaussian_blur(images, sigma, size)
    half = size // 2
    offsets = torch.arange(-half, half + 1, dtype=torch.float32)
    for n in range(3):
        k1 = torch.exp(-offsets**2 / (2 * sigma[n]**2))
        k1 = k1 / k1.sum()
        k2 = (k1[:, None] * k1[None, :]).expand(3, 1, size, size)
        padded = F.pad(images[n:n + 1], (half, ) * 4, mode='reflect')
        ref = F.conv2d(padded, k2, groups=3)
        torch.testing.assert_close(out[n:n + 1], ref, atol=1e-3, rtol=1e-5)
    # Larger sigma smooths more; the range is kept.
    tv = (out[:, :, :, 1:] - out[:, :, :, :-1]).abs().mean(dim=(1, 2, 3))
    assert tv[0] > tv[1] > tv[2]
    assert out.min() >= 0 and out.max() <= 255


def test_gaussian_blur_constant_image_and_small_image():
    const = torch.full((2, 3, 3, 3), 77.)
    out = gaussian_blur(const, torch.tensor([0.5, 1.1]), 9)
    torch.testing.assert_close(out, const)


def test_random_gaussian_blur_probability():
    images, _, _ = _batch(num=64, height=6, width=6)
    assert torch.equal(random_gaussian_blur(images, prob=0.), images)
    out = random_gaussian_blur(images, prob=0.5, generator=_gen())
    changed = (out - images).abs().flatten(1).amax(1) > 1e-3
    assert 0.3 < changed.float().mean() < 0.7


# ---------------------------------------------------------------------------
# Geometric operations
# ---------------------------------------------------------------------------
def test_hflip_keeps_alignment():
    images, labels, conf = _coordinate_batch()
    flip = torch.tensor([True, False, True])
    out_img, out_lab, out_conf = hflip(images, labels, conf, flip)
    assert torch.equal(out_img[0], images[0].flip(-1))
    assert torch.equal(out_img[1], images[1])
    assert torch.equal(out_lab[2], labels[2].flip(-1))
    assert torch.equal(out_conf[2], conf[2].flip(-1))
    n, y, x = _decode(out_conf, 3, 12, 16)
    assert torch.equal(out_lab, labels[n, y, x])
    assert torch.equal(out_img[:, 0].long(), x)
    back = hflip(out_img, out_lab, out_conf, flip)
    for a, b in zip(back, (images, labels, conf)):
        assert torch.equal(a, b)
    out = random_hflip(images, labels, conf, prob=0.)
    assert torch.equal(out[0], images)


def test_rescale_crop_identity_and_integer_upscale():
    images, labels, conf = _batch()
    zeros = torch.zeros(3)
    out_img, out_lab, out_conf = rescale_crop(images, labels, conf,
                                              torch.ones(3), zeros, zeros)
    torch.testing.assert_close(out_img, images, atol=1e-3, rtol=0)
    assert torch.equal(out_lab, labels)
    assert torch.equal(out_conf, conf)
    # Scale 2, crop at (2, 4): nearest upsampling of labels is exact.
    _, out_lab, out_conf = rescale_crop(images, labels, conf,
                                        torch.full((3, ), 2.),
                                        torch.full((3, ), 2.),
                                        torch.full((3, ), 4.))
    rows = (torch.arange(12) + 2) // 2
    cols = (torch.arange(16) + 4) // 2
    assert torch.equal(out_lab, labels[:, rows][:, :, cols])
    assert torch.equal(out_conf, conf[:, rows][:, :, cols])
    # Scale 0.5: a (6, 8) image padded at the bottom and right.
    _, out_lab, out_conf = rescale_crop(images, labels, conf,
                                        torch.full((3, ), 0.5), zeros, zeros)
    assert (out_lab[:, 6:] == IGNORE).all() and (out_lab[:, :, 8:]
                                                 == IGNORE).all()
    assert (out_conf[:, 6:] == 0).all() and (out_conf[:, :, 8:] == 0).all()
    assert (out_conf[:, :6, :8] > 0).all()


@pytest.mark.parametrize('conf_mode', ['nearest', 'bilinear'])
def test_random_rescale_crop_keeps_alignment(conf_mode):
    num, height, width = 8, 12, 16
    images, labels, conf = _coordinate_batch(num, height, width)
    # Confidence as a positive ramp in y, so that bilinear sampling stays
    # traceable and 0 marks padding only.
    conf = (images[:, 1] + 1) / (height + 1)
    out_img, out_lab, out_conf = random_rescale_crop(
        images,
        labels,
        conf,
        scale_range=(0.5, 1.5),
        ignore_index=IGNORE,
        conf_mode=conf_mode,
        generator=_gen(5))
    assert out_img.shape == images.shape and out_lab.shape == labels.shape
    assert out_lab.dtype == torch.long and out_conf.dtype == conf.dtype
    padded = out_conf == 0
    valid = ~padded
    # Image sampled bilinearly at the position whose label is kept.
    x = out_img[:, 0].round().long().clamp(0, width - 1)
    y = out_img[:, 1].round().long().clamp(0, height - 1)
    n = torch.arange(num).view(-1, 1, 1).expand_as(x)
    src = labels[n, y, x]
    assert ((out_img[:, 0] - x).abs()[valid] <= 0.5 + 1e-4).all()
    assert torch.equal(out_lab[valid], src[valid])
    conf_y = out_conf * (height + 1) - 1
    assert ((conf_y - out_img[:, 1]).abs()[valid] <= 0.5 + 1e-4).all()
    # Padding: ignore label, zero confidence, at the bottom/right only.
    assert (out_lab[padded] == IGNORE).all()
    assert padded.any() and valid.all(dim=(1, 2)).any()
    pad_rows, pad_cols = padded.all(2), padded.all(1)
    assert torch.equal(padded, pad_rows.unsqueeze(2) | pad_cols.unsqueeze(1))
    for pad in (pad_rows, pad_cols):  # a suffix of rows / columns
        assert (pad[:, 1:].long() >= pad[:, :-1].long()).all()


# ---------------------------------------------------------------------------
# StrongAugment
# ---------------------------------------------------------------------------
def test_defaults_are_recos():
    aug = StrongAugment(num_classes=NUM_CLASSES)
    assert aug.scale_range == (1.0, 1.0) and not aug.rescale_enabled
    assert aug.flip_prob == 0.5 and aug.jitter_prob == 0.8
    assert aug.brightness == aug.contrast == aug.saturation == (0.75, 1.25)
    assert aug.hue == (-0.25, 0.25)
    assert aug.blur_prob == 0.5 and aug.blur_sigma == (0.15, 1.15)
    assert type(aug.mixer).__name__ == 'ClassMix'
    assert type(StrongAugment(mix='classmix').mixer).__name__ == 'ClassMix'
    with pytest.raises(AssertionError):
        StrongAugment(mix='mixup')


@pytest.mark.parametrize('mix', ['classmix', 'cutmix', 'cutout', None])
def test_full_pipeline_shapes_range_and_labels(mix):
    images, labels, conf = _batch(num=4)
    aug = MODELS.build(
        dict(
            type='StrongAugment',
            mix=mix,
            num_classes=NUM_CLASSES,
            scale_range=(0.5, 1.5)))
    with torch.no_grad():
        out_img, out_lab, out_conf = aug(
            images, labels, conf, generator=_gen(1))
    assert out_img.shape == images.shape and out_img.dtype == images.dtype
    assert out_lab.shape == labels.shape and out_lab.dtype == torch.long
    assert out_conf.shape == conf.shape
    assert out_img.min() >= 0 and out_img.max() <= 255
    assert out_conf.min() >= 0 and out_conf.max() <= 1
    valid_values = set(range(NUM_CLASSES)) | {IGNORE}
    assert set(out_lab.unique().tolist()) <= valid_values


def test_all_off_is_identity_and_photometric_leaves_labels():
    images, labels, conf = _batch()
    aug = StrongAugment(mix=None, **OFF)
    out = aug(images, labels, conf, generator=_gen())
    for a, b in zip(out, (images, labels, conf)):
        assert torch.equal(a, b)
    aug = StrongAugment(mix=None, flip_prob=0., jitter_prob=1., blur_prob=1.)
    out_img, out_lab, out_conf = aug(images, labels, conf, generator=_gen())
    assert torch.equal(out_lab, labels) and torch.equal(out_conf, conf)
    assert not torch.allclose(out_img, images)
    assert out_img.min() >= 0 and out_img.max() <= 255


@pytest.mark.parametrize('mix', ['classmix', 'cutmix'])
def test_mix_and_flip_keep_alignment(mix):
    num, height, width = 4, 12, 16
    images, labels, conf = _coordinate_batch(num, height, width)
    aug = StrongAugment(
        mix=mix,
        num_classes=NUM_CLASSES,
        flip_prob=0.5,
        jitter_prob=0.,
        blur_prob=0.)
    out_img, out_lab, out_conf = aug(images, labels, conf, generator=_gen(3))
    n, y, x = _decode(out_conf, num, height, width)
    assert torch.equal(out_lab, labels[n, y, x])
    assert torch.equal(out_img[:, 0].long(), x)
    assert torch.equal(out_img[:, 1].long(), y)
    assert torch.equal(out_img[:, 2].long(), out_lab)
    own = torch.arange(num).view(-1, 1, 1)
    assert ((n == own) | (n == (own + 1) % num)).all()


def test_rescale_mix_flip_keep_alignment():
    num, height, width = 4, 12, 16
    images, labels, conf = _coordinate_batch(num, height, width)
    aug = StrongAugment(
        mix='cutmix',
        scale_range=(1.0, 2.0),
        flip_prob=0.5,
        jitter_prob=0.,
        blur_prob=0.)
    out_img, out_lab, out_conf = aug(images, labels, conf, generator=_gen(4))
    # Nearest-resampled confidence still names the source pixel exactly.
    n, y, x = _decode(out_conf, num, height, width)
    assert torch.equal(out_lab, labels[n, y, x])
    assert ((out_img[:, 0] - x).abs() <= 0.5 + 1e-4).all()
    assert ((out_img[:, 1] - y).abs() <= 0.5 + 1e-4).all()


def test_cutout_in_pipeline_and_ignore_stays_ignore():
    images, labels, conf = _coordinate_batch(4, 12, 16)
    aug = StrongAugment(mix='cutout', cutout_fill=0., **OFF)
    out_img, out_lab, out_conf = aug(images, labels, conf, generator=_gen())
    erased = out_conf == 0
    assert (out_lab[erased] == IGNORE).all()
    assert (out_img.permute(0, 2, 3, 1)[erased] == 0).all()
    kept = ~erased
    assert torch.equal(out_lab[kept], labels[kept])
    ratio = erased.flatten(1).float().mean(1)
    assert ((ratio - 0.5).abs() <= (16 / 2) / (12 * 16)).all()
    # Pixels that were ignore before any mix remain ignore.
    aug = StrongAugment(mix='classmix', num_classes=NUM_CLASSES, **OFF)
    _, out_lab, out_conf = aug(images, labels, conf, generator=_gen())
    n, y, x = _decode(out_conf, 4, 12, 16)
    was_ignore = labels[n, y, x] == IGNORE
    assert (out_lab[was_ignore] == IGNORE).all()


def test_batch_of_one_labelled_and_apply_mix():
    images, labels, conf = _batch(num=1)
    aug = StrongAugment(mix='classmix', num_classes=NUM_CLASSES, **OFF)
    with torch.no_grad():
        out = aug(images, labels, conf)
    for a, b in zip(out, (images, labels, conf)):
        assert torch.equal(a, b)
    # Labelled images: no confidence, no mix.
    images, labels, conf = _batch(num=3)
    out_img, out_lab, out_conf = aug(images, labels, None, apply_mix=False)
    assert out_conf is None
    assert torch.equal(out_img, images) and torch.equal(out_lab, labels)
    aug = StrongAugment(mix=None)
    out_img, out_lab, out_conf = aug(images, labels, generator=_gen())
    assert out_conf is None and out_img.shape == images.shape


def test_mix_from_config_dict():
    images, labels, conf = _batch()
    aug = StrongAugment(mix=dict(type='CutOut', fill=0.), **OFF)
    assert type(aug.mixer).__name__ == 'CutOut'
    _, out_lab, _ = aug(images, labels, conf)
    assert (out_lab == IGNORE).float().mean() > 0.5


def test_reproducible_and_autocast_safe():
    images, labels, conf = _batch(num=4)
    aug = StrongAugment(
        mix='classmix', num_classes=NUM_CLASSES, scale_range=(0.5, 1.5))
    ref = aug(images, labels, conf, generator=_gen(9))
    again = aug(images, labels, conf, generator=_gen(9))
    for a, b in zip(ref, again):
        assert torch.equal(a, b)
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        amp = aug(images, labels, conf, generator=_gen(9))
    assert amp[0].dtype == torch.float32
    torch.testing.assert_close(amp[0], ref[0])
    assert torch.equal(amp[1], ref[1])
