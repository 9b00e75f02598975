"""Broken data gives an error naming the file, never a silent wrong number.

Covers: label ids outside [0, C) other than ignore, image and label of
different sizes, a missing image or label file, a split file naming
unknown images, and empty labelled or unlabelled sets.
"""
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

from mmseg.registry import DATASETS, DATA_SAMPLERS
from mmseg_reco.datasets.transforms.check_seg_labels import (CheckSegLabels,
                                                             bad_label_ids)
from reliability_utils import DEMO

NUM_CLASSES = 11
STEMS = ['train_00000', 'train_00001', 'train_00002']
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegLabels', num_classes=NUM_CLASSES),
    dict(type='PackSegInputs'),
]


@pytest.fixture
def data_root(tmp_path, require_data):
    """Three demo canvases and their labels in a private folder."""
    require_data(osp.join(DEMO, 'splits/train.txt'),
                 'demo data missing: run tools/prepare_demo.py')
    for sub in ('img_dir/train', 'ann_dir/train', 'splits'):
        os.makedirs(tmp_path / sub)
    for stem in STEMS:
        for sub in ('img_dir/train', 'ann_dir/train'):
            shutil.copy(
                osp.join(DEMO, sub, stem + '.png'), tmp_path / sub)
    write_split(tmp_path, 'all', STEMS)
    return tmp_path


def write_split(root, name, stems):
    with open(root / 'splits' / f'{name}.txt', 'w') as f:
        f.write(''.join(stem + '\n' for stem in stems))


def labelled(root, split='all', pipeline=PIPELINE):
    return DATASETS.build(
        dict(
            type='FashionCanvasDataset',
            data_root=str(root),
            data_prefix=dict(
                img_path='img_dir/train', seg_map_path='ann_dir/train'),
            ann_file=f'splits/{split}.txt',
            pipeline=pipeline))


def unlabelled(root, split='all'):
    return DATASETS.build(
        dict(
            type='UnlabelledDataset',
            data_root=str(root),
            data_prefix=dict(img_path='img_dir/train'),
            ann_file=f'splits/{split}.txt',
            img_suffix='.png',
            metainfo_from='FashionCanvasDataset',
            pipeline=[dict(type='LoadImageFromFile')]))


def edit_label(root, stem, fn):
    path = root / 'ann_dir/train' / f'{stem}.png'
    label = np.array(Image.open(path))
    Image.fromarray(fn(label).astype(np.uint8)).save(path)
    return path


# --------------------------------------------------------------------------
# label ids and sizes
def test_clean_labels_pass_with_ignore_pixels(data_root):
    edit_label(data_root, STEMS[0], lambda lab: np.where(lab == 0, 255, lab))
    dataset = labelled(data_root)
    for index in range(len(dataset)):
        assert dataset[index]['data_samples'].gt_sem_seg.data.max() <= 255


def test_label_ids_outside_the_classes_name_the_file(data_root):
    def corrupt(label):
        label[:2, :2] = 42
        label[-1, -1] = 11
        return label

    path = edit_label(data_root, STEMS[1], corrupt)
    dataset = labelled(data_root)
    dataset[0]  # a clean label passes
    with pytest.raises(ValueError) as info:
        dataset[1]
    message = str(info.value)
    assert str(path) in message
    assert '[11, 42]' in message
    assert 'valid ids are 0..10 and 255 (ignore)' in message


def test_image_and_label_of_different_sizes_are_refused(data_root):
    edit_label(data_root, STEMS[2], lambda lab: lab[:48, :40])
    with pytest.raises(ValueError, match=r'train_00002.png.* is 48x40 but '
                       r'its image .* is 64x64'):
        labelled(data_root)[2]


@pytest.mark.parametrize('dtype', [np.uint8, np.int64, np.int32])
def test_bad_label_ids_for_every_label_dtype(dtype):
    label = np.array([[0, 10, 255], [3, 4, 5]], dtype=dtype)
    assert bad_label_ids(label, 11, 255).size == 0
    label[0, 0] = 11
    assert bad_label_ids(label, 11, 255).tolist() == [11]
    assert bad_label_ids(label, 12, 255).size == 0
    if dtype != np.uint8:
        label[1, 1] = -1
        assert bad_label_ids(label, 11, 255).tolist() == [-1, 11]


def test_unlabelled_results_pass_unchanged():
    check = CheckSegLabels(num_classes=3)
    results = dict(img=np.zeros((4, 4, 3), np.uint8), img_path='x.png')
    assert check(results) is results
    with pytest.raises(ValueError, match='num_classes'):
        CheckSegLabels(num_classes=0)


# --------------------------------------------------------------------------
# missing files, unknown images in split files
@pytest.mark.parametrize('folder', ['img_dir', 'ann_dir'])
def test_missing_image_or_label_file_is_named(data_root, folder):
    missing = data_root / folder / 'train' / f'{STEMS[1]}.png'
    os.remove(missing)
    # either when the dataset is built or when the sample is read
    with pytest.raises(FileNotFoundError, match=str(missing)):
        dataset = labelled(data_root)
        for index in range(len(dataset)):
            dataset[index]


def test_split_naming_unknown_images_is_refused(data_root):
    write_split(data_root, 'typo', STEMS[:2] + ['train_99999'])
    with pytest.raises(FileNotFoundError, match='train_99999'):
        dataset = labelled(data_root, 'typo')
        for index in range(len(dataset)):
            dataset[index]
    with pytest.raises(FileNotFoundError, match='train_99999'):
        unlabelled(data_root, 'typo')


# --------------------------------------------------------------------------
# empty sets
def test_empty_unlabelled_split_is_refused(data_root):
    write_split(data_root, 'empty', [])
    with pytest.raises(ValueError, match='lists no images'):
        unlabelled(data_root, 'empty')


def test_empty_labelled_split_is_refused_when_the_dataset_is_built(data_root):
    # the message must name the split file (mmengine's serialisation of an
    # empty data list fails with numpy's 'need at least one array to
    # concatenate')
    write_split(data_root, 'empty', [])
    with pytest.raises(ValueError, match='empty.txt'):
        labelled(data_root, 'empty')


def test_empty_sets_are_refused_by_the_semi_sampler():
    from torch.utils.data import ConcatDataset
    sampler = dict(type='LabelledUnlabelledSampler', batch_size=4, seed=0)
    with pytest.raises(ValueError, match='labelled dataset .* is empty'):
        DATA_SAMPLERS.build(dict(sampler, dataset=ConcatDataset([[], [1]])))
    with pytest.raises(ValueError, match='unlabelled dataset .* is empty'):
        DATA_SAMPLERS.build(dict(sampler, dataset=ConcatDataset([[1], []])))
