# Copyright (c) mmseg_reco contributors. All rights reserved.
import pytest
import torch
from mmseg.registry import MODELS

from mmseg_reco.models.augmentation.mixing import (
    IMAGENET_MEAN_RGB, ClassMix, CutMix, CutOut, class_mix, cut_mix, cut_out,
    generate_box_mask, generate_class_mask, partner)

IGNORE = 255
NUM_CLASSES = 6


def _encoded_batch(num=4, height=12, width=16, seed=0):
    """Images whose pixels encode their origin.

    Channel 0 is the image index, channel 1 the pixel index, channel 2 the
    label; the confidence encodes (image index, pixel index) too, so after a
    mix every output pixel says where its image, label and confidence came
    from.
    """
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, NUM_CLASSES, (num, height, width), generator=g)
    labels[torch.rand(labels.shape, generator=g) < 0.1] = IGNORE
    pix = torch.arange(height * width, dtype=torch.float32).view(height, width)
    idx = torch.arange(num, dtype=torch.float32).view(num, 1, 1)
    images = torch.stack((idx.expand(
        num, height, width), pix.expand(num, height, width), labels.float()),
                         dim=1)
    conf = (idx * height * width + pix + 0.5) / (num * height * width)
    return images, labels, conf


def _decode_source(images, conf):
    """Source image index per output pixel, from image and confidence."""
    num, _, height, width = images.shape
    code = torch.floor(conf * num * height * width).long()
    return images[:, 0].long(), code // (height * width), code % (
        height * width)


def _assert_aligned(out, inp):
    """Every output pixel of image/label/conf comes from one source pixel.

    The source is image ``i`` or its partner ``i + 1``, at the same position.
    """
    images, labels, conf = out
    in_images, in_labels, in_conf = inp
    num, _, height, width = images.shape
    src_img, src_conf, pix_conf = _decode_source(images, conf)
    pix = torch.arange(height * width).view(1, height, width)
    assert torch.equal(src_img, src_conf)
    assert torch.equal(images[:, 1].long(), pix.expand_as(src_img))
    assert torch.equal(pix_conf, pix.expand_as(src_img))
    own = torch.arange(num).view(-1, 1, 1)
    nxt = (own + 1) % num
    assert ((src_img == nxt) | (src_img == own)).all()
    # The label is the source image's label at the same pixel.
    pix = pix.expand_as(src_img)
    src_labels = in_labels[src_img, pix // width, pix % width]
    assert torch.equal(labels, src_labels)
    assert torch.equal(images[:, 2].long(), labels)
    assert images.shape == in_images.shape and conf.shape == in_conf.shape


def test_partner_is_next_image():
    x = torch.arange(4)
    assert partner(x).tolist() == [1, 2, 3, 0]
    assert partner(torch.arange(1)).tolist() == [0]


@pytest.mark.parametrize('round_up', [False, True])
@pytest.mark.parametrize('num_classes', [NUM_CLASSES, None])
def test_class_mix_alignment_and_whole_classes(round_up, num_classes):
    images, labels, conf = _encoded_batch()
    g = torch.Generator().manual_seed(1)
    out = class_mix(
        images,
        labels,
        conf,
        num_classes=num_classes,
        ignore_index=IGNORE,
        round_up=round_up,
        generator=g)
    _assert_aligned(out, (images, labels, conf))
    src = out[0][:, 0].long()
    for i in range(images.shape[0]):
        from_self = src[i] == i
        chosen = labels[i][from_self].unique()
        present = labels[i][labels[i] != IGNORE].unique()
        n = present.numel()
        assert chosen.numel() == ((n + 1) // 2 if round_up else n // 2)
        assert IGNORE not in chosen.tolist()
        # Whole classes are pasted: every pixel of a chosen class, nothing
        # else.
        assert torch.equal(from_self, torch.isin(labels[i], chosen))


def test_class_mask_ignores_ignore_and_absent_classes():
    labels = torch.full((2, 4, 4), IGNORE)
    labels[0, :2] = 3
    labels[0, 2:, :2] = 5
    labels[1, :, :] = 1
    labels[1, 0, 0] = 2
    for seed in range(10):
        g = torch.Generator().manual_seed(seed)
        mask = generate_class_mask(labels, NUM_CLASSES, IGNORE, generator=g)
        assert not mask[labels == IGNORE].any()
        # Image 0 has 2 classes -> exactly one of them, image 1 has 2 -> one.
        for i in range(2):
            assert mask[i].any()
            assert labels[i][mask[i]].unique().numel() == 1


def test_class_mask_selection_is_random_and_fair():
    labels = torch.arange(4).repeat_interleave(4).view(1, 4,
                                                       4).repeat(200, 1, 1)
    g = torch.Generator().manual_seed(0)
    mask = generate_class_mask(labels, NUM_CLASSES, IGNORE, generator=g)
    per_class = torch.stack(
        [mask[labels == c].float().mean() for c in range(4)])
    assert ((per_class > 0.35) & (per_class < 0.65)).all()
    # Exactly 2 of the 4 classes per image.
    chosen = torch.stack([(mask & (labels == c)).flatten(1).any(1)
                          for c in range(4)], 1)
    assert (chosen.sum(1) == 2).all()


def test_class_mask_single_and_no_class():
    labels = torch.zeros((2, 3, 3), dtype=torch.long)
    labels[1] = IGNORE
    mask = generate_class_mask(labels, NUM_CLASSES, IGNORE)
    assert not mask.any()  # floor(1 / 2) = 0 and no class at all
    mask = generate_class_mask(labels, NUM_CLASSES, IGNORE, round_up=True)
    assert mask[0].all() and not mask[1].any()


def test_cut_mix_alignment_and_box_area():
    images, labels, conf = _encoded_batch(num=3, height=14, width=18)
    g = torch.Generator().manual_seed(2)
    out = cut_mix(images, labels, conf, area_ratio=0.5, generator=g)
    _assert_aligned(out, (images, labels, conf))
    src = out[0][:, 0].long()
    own = torch.arange(3).view(-1, 1, 1)
    box = src != own
    area = box.flatten(1).sum(1).float()
    assert ((area - 14 * 18 * 0.5).abs() <= 18 / 2).all()


@pytest.mark.parametrize('size', [(8, 8), (17, 33), (33, 17), (64, 48)])
def test_box_mask_is_a_box_of_half_the_area(size):
    height, width = size
    g = torch.Generator().manual_seed(3)
    box = generate_box_mask(50, height, width, 0.5, generator=g)
    assert box.shape == (50, height, width)
    rows, cols = box.any(2), box.any(1)
    # A rectangle: the mask is the outer product of its row and column sets,
    # and both sets are contiguous.
    assert torch.equal(box, rows.unsqueeze(2) & cols.unsqueeze(1))
    for s in (rows, cols):
        first = s.float().argmax(1)
        count = s.sum(1)
        last = s.shape[1] - 1 - s.flip(1).float().argmax(1)
        assert torch.equal(last - first + 1, count)
    box_w = cols.sum(1).float()
    area = box.flatten(1).sum(1).float()
    assert ((area - height * width * 0.5).abs() <= box_w / 2 + 1e-6).all()
    assert (box_w > width * 0.5).all() and (box_w < width).all()
    # Positions and widths vary across the batch.
    assert rows.float().argmax(1).unique().numel() > 1
    assert cols.float().argmax(1).unique().numel() > 1
    assert box_w.unique().numel() > 1


def test_cut_out_erases_box():
    images, labels, conf = _encoded_batch()
    g = torch.Generator().manual_seed(4)
    out_img, out_lab, out_conf = cut_out(
        images, labels, conf, area_ratio=0.5, ignore_index=IGNORE, generator=g)
    g = torch.Generator().manual_seed(4)
    box = generate_box_mask(*labels.shape, 0.5, generator=g)
    fill = torch.tensor(IMAGENET_MEAN_RGB).view(1, 3, 1)
    assert torch.equal(
        out_img.permute(0, 2, 3, 1)[box].T.unsqueeze(0),
        fill.expand(1, 3, int(box.sum())))
    assert (out_lab[box] == IGNORE).all()
    assert (out_conf[box] == 0).all()
    keep = ~box
    assert torch.equal(out_lab[keep], labels[keep])
    assert torch.equal(out_conf[keep], conf[keep])
    assert torch.equal(
        out_img.permute(0, 2, 3, 1)[keep],
        images.permute(0, 2, 3, 1)[keep])
    area = box.flatten(1).sum(1).float()
    assert ((area - labels[0].numel() * 0.5).abs() <= 16 / 2).all()


def test_cut_out_scalar_fill_and_no_conf():
    images, labels, _ = _encoded_batch()
    out_img, out_lab, out_conf = cut_out(images, labels, None, fill=0.)
    erased = out_lab == IGNORE
    assert out_conf is None
    new = erased & (labels != IGNORE)
    assert (out_img.permute(0, 2, 3, 1)[new] == 0).all()


@pytest.mark.parametrize('mix', ['class', 'cut'])
def test_batch_of_one_is_its_own_partner(mix):
    images, labels, conf = _encoded_batch(num=1)
    with torch.no_grad():
        if mix == 'class':
            out = class_mix(images, labels, conf, num_classes=NUM_CLASSES)
        else:
            out = cut_mix(images, labels, conf)
    for a, b in zip(out, (images, labels, conf)):
        assert torch.equal(a, b)


def test_generator_reproducible_and_batched_draws():
    images, labels, conf = _encoded_batch(num=6)
    outs = []
    for _ in range(2):
        g = torch.Generator().manual_seed(7)
        outs.append(
            class_mix(
                images, labels, conf, num_classes=NUM_CLASSES, generator=g))
    for a, b in zip(*outs):
        assert torch.equal(a, b)
    g = torch.Generator().manual_seed(8)
    other = class_mix(
        images, labels, conf, num_classes=NUM_CLASSES, generator=g)
    assert not torch.equal(other[1], outs[0][1])


def test_modules_build_from_registry():
    images, labels, conf = _encoded_batch()
    cm = MODELS.build(dict(type='ClassMix', num_classes=NUM_CLASSES))
    assert isinstance(cm, ClassMix)
    out = cm(images, labels, conf, generator=torch.Generator().manual_seed(0))
    _assert_aligned(out, (images, labels, conf))
    cx = MODELS.build(dict(type='CutMix', area_ratio=0.5))
    assert isinstance(cx, CutMix)
    _assert_aligned(cx(images, labels, conf), (images, labels, conf))
    co = MODELS.build(dict(type='CutOut', fill=0., ignore_index=IGNORE))
    assert isinstance(co, CutOut)
    _, out_lab, out_conf = co(images, labels, conf)
    assert torch.equal(out_lab == IGNORE, (out_lab == IGNORE) &
                       ((out_conf == 0) | (labels == IGNORE)))
    with pytest.raises(AssertionError):
        ClassMix(num_classes=0)
    with pytest.raises(AssertionError):
        CutMix(area_ratio=1.0)
