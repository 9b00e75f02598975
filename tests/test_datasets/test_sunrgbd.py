"""SUNRGBDDataset and the SUN RGB-D converter on fake trees."""
import os
import os.path as osp

import numpy as np
import pytest
from mmseg.registry import DATASETS
from PIL import Image

from mmseg_reco.datasets.converters.sunrgbd import convert, read_val_list
from mmseg_reco.datasets.sunrgbd import SUNRGBDDataset



def test_loads_with_class_mapping(sunrgbd_tree):
    root = sunrgbd_tree['root']
    dataset = DATASETS.build(
        dict(type='SUNRGBDDataset', data_root=root,
             data_prefix=dict(img_path='img_dir/train',
                              seg_map_path='ann_dir/train'),
             ann_file='splits/train.txt',
             pipeline=[dict(type='LoadImageFromFile'),
                       dict(type='LoadAnnotations')]))
    assert isinstance(dataset, SUNRGBDDataset)
    assert len(dataset) == len(sunrgbd_tree['train'])
    assert len(dataset.metainfo['classes']) == 37
    assert len({tuple(c) for c in dataset.metainfo['palette']}) == 37
    raw = np.asarray(Image.open(osp.join(
        root, 'ann_dir', 'train', sunrgbd_tree['train'][0] + '.png')))
    label = dataset[0]['gt_seg_map']
    # file 0 = void -> 255, file k -> class k - 1
    assert (label[raw == 0] == 255).all()
    assert (label[raw > 0] == raw[raw > 0] - 1).all()


def test_missing_label_names_split(sunrgbd_tree):
    root = sunrgbd_tree['root']
    os.remove(osp.join(root, 'ann_dir', 'val',
                       sunrgbd_tree['val'][1] + '.png'))
    with pytest.raises(FileNotFoundError,
                       match=r"val.txt' \(seg_map_path\).*img-000002.png"):
        DATASETS.build(dict(type='SUNRGBDDataset', data_root=root,
                            data_prefix=dict(img_path='img_dir/val',
                                             seg_map_path='ann_dir/val'),
                            ann_file='splits/val.txt'))


def make_raw(tmp_path, fake_trees):
    """3 train and 4 test images of the raw release; test 2 and 4 are the
    validation list ``<tmp_path>/test_idx.txt``."""
    rng = np.random.default_rng(0)
    src = tmp_path / 'raw'
    labels = src / 'sunrgbd_train_test_labels'
    for k in (1, 2, 3):  # train images, labels k + 5050
        fake_trees['write_image'](
            str(src / 'SUNRGBD-train_images' / f'img-{k:06d}.jpg'), rng,
            40, 52)
        fake_trees['write_label'](str(labels / f'img-{k + 5050:06d}.png'),
                                  np.full((40, 52), k, np.uint8))
    for k in (1, 2, 3, 4):  # test images
        fake_trees['write_image'](
            str(src / 'SUNRGBD-test_images' / f'img-{k:06d}.jpg'), rng,
            40, 52)
        fake_trees['write_label'](str(labels / f'img-{k:06d}.png'),
                                  np.full((40, 52), 10 + k, np.uint8))
    (tmp_path / 'test_idx.txt').write_text('2\n4\n')
    return src


def test_convert_resplit(tmp_path, fake_trees):
    src = make_raw(tmp_path, fake_trees)
    out = tmp_path / 'sunrgbd'
    result = convert(str(src), read_val_list(
        str(tmp_path / 'test_idx.txt')), str(out), size=(16, 12))
    assert result['val'] == ['img-000002', 'img-000004']
    assert result['train'] == ['img-000001', 'img-000003', 'img-005051',
                               'img-005052', 'img-005053']
    assert (out / 'splits' / 'train.txt').read_text().split() == \
        result['train']
    label = np.asarray(Image.open(out / 'ann_dir' / 'train' /
                                  'img-005052.png'))
    assert label.shape == (12, 16) and (label == 2).all()
    assert (np.asarray(Image.open(out / 'ann_dir' / 'val' /
                                  'img-000004.png')) == 14).all()
    assert Image.open(out / 'img_dir' / 'val' / 'img-000002.jpg').size == \
        (16, 12)
    with pytest.raises(ValueError, match=r'\[9\]'):
        convert(str(src), [2, 9], str(out))


def test_convert_sunrgbd_command_line(tmp_path, fake_trees, load_tool,
                                      capsys):
    src = make_raw(tmp_path, fake_trees)
    main = load_tool('convert_sunrgbd').main
    out = tmp_path / 'sunrgbd'
    main([str(src), '--val-list', str(tmp_path / 'test_idx.txt'), '--out',
          str(out), '--size', '16x12', '--nproc', '2'])
    assert capsys.readouterr().out.strip() == \
        f'train: 5 images, val: 2 images -> {out}'
    assert (out / 'splits' / 'val.txt').read_text().split() == \
        ['img-000002', 'img-000004']
    with pytest.raises(SystemExit, match='error: .*does not exist'):
        main([str(src), '--val-list', str(tmp_path / 'missing.txt')])
