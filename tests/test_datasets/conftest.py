"""Tiny fake dataset trees (a few small PNG/JPEG files) in the layouts of
docs/datasets.md, for the dataset, converter and split tests."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from PIL import Image

from repo_scripts import load_script

IGNORE = 255
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def write_image(path, rng, height=24, width=32):
    """A random RGB image (JPEG or PNG by the suffix)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    assert cv2.imwrite(path, img)


def write_label(path, label, palette=False):
    """A single-channel uint8 label PNG; ``palette`` writes a 'P' PNG (as
    VOC and GTA5 ship them)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = Image.fromarray(np.asarray(label, np.uint8))  # mode 'L'
    if palette:
        img = img.convert('P')
        img.putpalette([v for i in range(256) for v in (i, 255 - i, i // 2)])
        # 'L' -> 'P' keeps the grey values as palette indices
        assert (np.asarray(img) == np.asarray(label)).all()
    img.save(path)


def blob_label(rng, classes, height=24, width=32, background=0,
               border=False):
    """A label map of ``background`` with one rectangle per class."""
    label = np.full((height, width), background, np.uint8)
    for cls in classes:
        h = rng.integers(4, height // 2 + 1)
        w = rng.integers(4, width // 2 + 1)
        y, x = rng.integers(0, height - h + 1), rng.integers(0, width - w + 1)
        label[y:y + h, x:x + w] = cls
        if border:
            label[y, x:x + w] = IGNORE
    return label


def write_list(path, stems):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(''.join(s + '\n' for s in stems))


def make_voc(root, num_train=24, num_val=4, num_voc_train=8, seed=0):
    """Converted VOC 2012 + SBD layout (VOCAugDataset)."""
    rng = np.random.default_rng(seed)
    train = [f'2008_{i:06d}' for i in range(num_train)]
    val = [f'2009_{i:06d}' for i in range(num_val)]
    for stem in train + val:
        write_image(osp.join(root, 'JPEGImages', stem + '.jpg'), rng)
        classes = rng.choice(np.arange(1, 21), rng.integers(1, 4),
                             replace=False)
        label = blob_label(rng, classes, border=True)
        write_label(osp.join(root, 'SegmentationClassAug', stem + '.png'),
                    label)
        if stem in val or stem in train[:num_voc_train]:
            write_label(osp.join(root, 'SegmentationClass', stem + '.png'),
                        label, palette=True)
    sets = osp.join(root, 'ImageSets', 'Segmentation')
    write_list(osp.join(sets, 'train_aug.txt'), train)
    write_list(osp.join(sets, 'train.txt'), train[:num_voc_train])
    write_list(osp.join(sets, 'aug.txt'), train[num_voc_train:])
    write_list(osp.join(sets, 'val.txt'), val)
    return dict(root=str(root), train=train, val=val,
                voc_train=train[:num_voc_train])


def make_cityscapes(root, cities=('aachen', 'bremen'), per_city=6,
                    num_val=2, seed=0, raw=False, height=24, width=48):
    """Cityscapes layout; train-id labels, or raw label ids with ``raw``."""
    rng = np.random.default_rng(seed)
    names = {}
    suffix = '_gtFine_labelIds.png' if raw else '_gtFine_labelTrainIds.png'
    for split, cities_, count in (('train', cities, per_city),
                                  ('val', ('frankfurt', ), num_val)):
        names[split] = []
        for city in cities_:
            for i in range(count):
                name = f'{city}/{city}_{i:06d}_000019'
                write_image(osp.join(root, 'leftImg8bit', split,
                                     name + '_leftImg8bit.png'), rng,
                            height, width)
                if raw:
                    ids = np.array([7, 8, 11, 21, 23, 24, 26, 1, 0, 3])
                    label = ids[rng.integers(0, len(ids), (height, width))]
                else:
                    classes = rng.choice(19, 13, replace=False)
                    label = blob_label(rng, classes[1:], height, width,
                                       background=classes[0])
                write_label(osp.join(root, 'gtFine', split, name + suffix),
                            label)
                names[split].append(name)
    return dict(root=str(root), **names)


def make_sunrgbd(root, num_train=12, num_val=3, seed=0):
    """Converted SUN RGB-D layout (0 = void, 1..37 classes)."""
    rng = np.random.default_rng(seed)
    stems = {}
    for split, count, start in (('train', num_train, 5051),
                                ('val', num_val, 1)):
        stems[split] = [f'img-{start + i:06d}' for i in range(count)]
        for stem in stems[split]:
            write_image(osp.join(root, 'img_dir', split, stem + '.jpg'), rng)
            classes = rng.choice(np.arange(1, 38), rng.integers(1, 4),
                                 replace=False)
            label = blob_label(rng, classes, background=0)
            write_label(osp.join(root, 'ann_dir', split, stem + '.png'),
                        label)
        write_list(osp.join(root, 'splits', f'{split}.txt'), stems[split])
    return dict(root=str(root), **stems)


def make_gta5(root, num=6, seed=0, converted=True):
    """GTA5 layout: raw palette labels of Cityscapes ids (+ train ids)."""
    rng = np.random.default_rng(seed)
    stems = [f'{i + 1:05d}' for i in range(num)]
    ids = np.array([0, 1, 7, 8, 11, 17, 21, 23, 24, 26, 33, 34])
    for stem in stems:
        write_image(osp.join(root, 'images', stem + '.png'), rng, 26, 48)
        label = ids[rng.integers(0, len(ids), (26, 48))]
        write_label(osp.join(root, 'labels', stem + '.png'), label,
                    palette=True)
    if converted:
        from mmseg_reco.datasets.converters.gta5 import convert
        convert(str(root))
    return dict(root=str(root), train=stems)


@pytest.fixture
def voc_tree(tmp_path):
    return make_voc(tmp_path / 'voc')


@pytest.fixture
def cityscapes_tree(tmp_path):
    return make_cityscapes(tmp_path / 'cityscapes')


@pytest.fixture
def sunrgbd_tree(tmp_path):
    return make_sunrgbd(tmp_path / 'sunrgbd')


@pytest.fixture
def gta5_tree(tmp_path):
    return make_gta5(tmp_path / 'gta5')


@pytest.fixture
def fake_trees():
    """The builder functions, for tests that need non-default trees."""
    return dict(voc=make_voc, cityscapes=make_cityscapes,
                sunrgbd=make_sunrgbd, gta5=make_gta5, write_label=write_label,
                write_image=write_image, write_list=write_list,
                blob_label=blob_label)


@pytest.fixture
def load_tool():
    """``load_tool('convert_gta5')``: the module of ``tools/<name>.py``,
    loaded by path (tools/ is no package), for the command-line tests."""

    return lambda name: load_script(f'tools/{name}.py')
