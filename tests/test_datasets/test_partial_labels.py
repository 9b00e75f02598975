"""ReCo's partial labels
(``mmseg_reco.datasets.split_protocols.partial_label``)."""
import cv2
import numpy as np
import pytest

from mmseg_reco.datasets import split_protocols as S

NUM_CLASSES = 6


def dilation_reference(label, seeds, share, num_classes, kernel_size=5):
    """The authors' loop: dilate the seed mask with a square kernel, count
    inside the class mask, stop at int(share * class pixels)."""
    out = np.full(label.shape, 255, np.int64)
    kernel = np.ones((kernel_size, kernel_size), np.uint8)
    for cls in range(num_classes):
        region = (label == cls).astype(np.uint8)
        if not region.any():
            continue
        mask = np.zeros_like(region)
        mask.flat[seeds[cls]] = 1
        kept = mask
        while kept.sum() < int(share * region.sum()):
            mask = cv2.dilate(mask, kernel)
            kept = mask * region
        out[kept.astype(bool)] = cls
    return out


def random_label(rng, height, width, void=0.05):
    """Blocky random classes with scattered void pixels."""
    small = rng.integers(0, NUM_CLASSES, (height // 4 + 1, width // 4 + 1))
    label = cv2.resize(small.astype(np.uint8), (width, height),
                       interpolation=cv2.INTER_NEAREST).astype(np.int64)
    label[rng.random((height, width)) < void] = 255
    return label


@pytest.mark.parametrize('share', [0, 0.01, 0.05, 0.25, 0.6, 1.0])
def test_equals_repeated_dilation(share):
    rng = np.random.default_rng(int(share * 100))
    for trial in range(12):
        height, width = rng.integers(3, 50, 2)
        label = random_label(rng, height, width)
        seeds = S.draw_seed_pixels(label, NUM_CLASSES,
                                   np.random.default_rng(trial))
        out = S.grow_partial_label(label, seeds, share, NUM_CLASSES)
        assert (out == dilation_reference(label, seeds, share,
                                          NUM_CLASSES)).all()


def test_kernel_size_three_equals_reference():
    rng = np.random.default_rng(5)
    label = random_label(rng, 30, 41)
    seeds = S.draw_seed_pixels(label, NUM_CLASSES, rng)
    out = S.grow_partial_label(label, seeds, 0.3, NUM_CLASSES, kernel_size=3)
    ref = dilation_reference(label, seeds, 0.3, NUM_CLASSES, kernel_size=3)
    assert (out == ref).all()


@pytest.mark.parametrize('share', [0, 0.01, 0.05, 0.25])
def test_properties(share):
    rng = np.random.default_rng(1)
    label = random_label(rng, 64, 96)
    out = S.partial_label(label, share, NUM_CLASSES, np.random.default_rng(0))
    assert out.shape == label.shape
    kept = out != 255
    # a subset of the ground truth, all else ignore
    assert (out[kept] == label[kept]).all()
    for cls in range(NUM_CLASSES):
        total = int((label == cls).sum())
        if total == 0:
            assert not (out == cls).any()
            continue
        count = int((out == cls).sum())
        target = max(int(share * total), 1)
        # at least one pixel per present class, at least the target
        assert count >= max(target, 1)
        if share == 0:
            assert count == 1


def test_share_within_tolerance_on_large_regions():
    # two large classes: the overshoot of the last dilation ring is small
    label = np.zeros((200, 300), np.int64)
    label[:, 150:] = 1
    label[80:120, 40:100] = 2
    for share in (0.01, 0.05, 0.25):
        out = S.partial_label(label, share, 3, np.random.default_rng(3))
        for cls in range(3):
            got = (out == cls).sum() / (label == cls).sum()
            assert share <= got <= share * 1.5 + 0.01, (share, cls, got)


def test_seed_pixels_uniform_and_deterministic():
    label = np.array([[0, 0, 1], [0, 255, 1]])
    seen = set()
    for seed in range(60):
        seeds = S.draw_seed_pixels(label, 3, np.random.default_rng(seed))
        assert seeds[2] == -1
        assert label.flat[seeds[0]] == 0 and label.flat[seeds[1]] == 1
        seen.add(int(seeds[0]))
    assert seen == {0, 1, 3}  # every pixel of class 0 gets drawn
    a = S.partial_label(label, 0.5, 3, S.image_rng(0, 'img_1'))
    b = S.partial_label(label, 0.5, 3, S.image_rng(0, 'img_1'))
    assert (a == b).all()


def test_empty_and_dtype():
    label = np.full((4, 5), 255, np.uint8)
    out = S.partial_label(label, 0.1, 3, np.random.default_rng(0))
    assert (out == 255).all() and out.dtype == np.uint8
    with pytest.raises(ValueError, match='share'):
        S.partial_label(label, 1.5, 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match='kernel_size'):
        S.grow_partial_label(label, np.full(3, -1), 0.1, 3, kernel_size=4)
