"""CityscapesSplitDataset and the Cityscapes converter on fake trees."""
import os
import os.path as osp

import numpy as np
import pytest
from mmseg.registry import DATASETS
from PIL import Image

from mmseg_reco.datasets.cityscapes_split import CityscapesSplitDataset
from mmseg_reco.datasets.converters.cityscapes import convert, parse_size
from mmseg_reco.datasets.label_maps import to_train_ids



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
    out = tmp_path / 'half'
    result = convert(src['root'], str(out), size=(24, 12))
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
    convert(src['root'], src['root'], size=None, splits=('val', ))
    full = np.asarray(Image.open(osp.join(
        src['root'], 'gtFine', 'val', src['val'][0] +
        '_gtFine_labelTrainIds.png')))
    raw = np.asarray(Image.open(osp.join(
        src['root'], 'gtFine', 'val', src['val'][0] + '_gtFine_labelIds.png')))
    assert (full == to_train_ids(raw)).all()
    with pytest.raises(ValueError, match='overwrite'):
        convert(src['root'], src['root'], size=(24, 12))
    assert parse_size('1024x512') == (1024, 512)
    assert parse_size('none') is None


def test_convert_cityscapes_command_line(tmp_path, fake_trees, load_tool,
                                         capsys):
    src = fake_trees['cityscapes'](tmp_path / 'raw', raw=True, per_city=1)
    main = load_tool('convert_cityscapes').main
    out = tmp_path / 'half'
    main([src['root'], '--out', str(out), '--size', '24x12'])
    assert capsys.readouterr().out.strip() == (
        f'train: {len(src["train"])} images, val: {len(src["val"])} images '
        f'-> {out}')
    assert Image.open(out / 'leftImg8bit' / 'train' / (
        src['train'][0] + '_leftImg8bit.png')).size == (24, 12)
    with pytest.raises(SystemExit, match='error: .*overwrite'):
        main([src['root'], '--out', src['root']])
