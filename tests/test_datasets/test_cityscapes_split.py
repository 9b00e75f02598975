"""CityscapesSplitDataset and tools/convert_cityscapes.py on fake trees."""
import importlib.util
import os
import os.path as osp

import numpy as np
import pytest
from mmseg.registry import DATASETS
from PIL import Image

from mmseg_reco.datasets.cityscapes_split import CityscapesSplitDataset
from mmseg_reco.datasets.label_maps import to_train_ids

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_split_file_and_folder(cityscapes_tree):
    root = cityscapes_tree['root']
    split = osp.join(root, 'splits', 'labelled-2.txt')
    os.makedirs(osp.dirname(split))
    with open(split, 'w') as f:
        f.write(''.join(n + '\n' for n in cityscapes_tree['train'][:2]))
    cfg = dict(type='CityscapesSplitDataset', data_root=root,
               data_prefix=dict(img_path='leftImg8bit/train',
                                seg_map_path='gtFine/train'),
               pipeline=[dict(type='LoadImageFromFile'),
                         dict(type='LoadAnnotations')])
    dataset = DATASETS.build(dict(cfg, ann_file='splits/labelled-2.txt'))
    assert isinstance(dataset, CityscapesSplitDataset)
    assert len(dataset) == 2
    item = dataset[1]
    assert item['img'].shape == (24, 48, 3)
    assert item['gt_seg_map'].max() < 19
    assert len(DATASETS.build(cfg)) == len(cityscapes_tree['train'])
    with open(split, 'a') as f:
        f.write('aachen/aachen_999999_000019\n')
    with pytest.raises(FileNotFoundError,
                       match='labelled-2.txt.*aachen_999999'):
        DATASETS.build(dict(cfg, ann_file='splits/labelled-2.txt'))


def test_train_id_mapping():
    ids = np.array([[7, 8, 11, 33], [0, 6, 34, 255], [26, 24, -1, 300]])
    assert to_train_ids(ids).tolist() == [[0, 1, 2, 18], [255, 255, 255, 255],
                                          [13, 11, 255, 255]]


def test_convert_cityscapes(tmp_path, fake_trees):
    src = fake_trees['cityscapes'](tmp_path / 'raw', raw=True, per_city=2)
    spec = importlib.util.spec_from_file_location(
        'convert_cityscapes', osp.join(REPO, 'tools', 'convert_cityscapes.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / 'half'
    result = tool.convert(src['root'], str(out), size=(24, 12))
    assert result['train'] == src['train']
    name = src['train'][0]
    img = Image.open(out / 'leftImg8bit' / 'train' / (name +
                                                      '_leftImg8bit.png'))
    assert img.size == (24, 12)
    label = np.asarray(Image.open(
        out / 'gtFine' / 'train' / (name + '_gtFine_labelTrainIds.png')))
    raw = np.asarray(Image.open(osp.join(
        src['root'], 'gtFine', 'train', name + '_gtFine_labelIds.png')))
    assert label.shape == (12, 24)
    assert set(np.unique(label).tolist()) <= set(
        np.unique(to_train_ids(raw)).tolist())
    # full resolution into the source: labels only
    tool.convert(src['root'], src['root'], size=None, splits=('val', ))
    full = np.asarray(Image.open(osp.join(
        src['root'], 'gtFine', 'val', src['val'][0] +
        '_gtFine_labelTrainIds.png')))
    raw = np.asarray(Image.open(osp.join(
        src['root'], 'gtFine', 'val', src['val'][0] + '_gtFine_labelIds.png')))
    assert (full == to_train_ids(raw)).all()
    with pytest.raises(ValueError, match='overwrite'):
        tool.convert(src['root'], src['root'], size=(24, 12))
    assert tool.parse_size('1024x512') == (1024, 512)
    assert tool.parse_size('none') is None
