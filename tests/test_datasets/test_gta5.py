"""GTA5Dataset, the GTA5 id mapping and the GTA5 converter."""
import os.path as osp

import numpy as np
import pytest
from mmseg.datasets import CityscapesDataset
from mmseg.registry import DATASETS
from PIL import Image

from mmseg_reco.datasets.converters.gta5 import convert
from mmseg_reco.datasets.gta5 import GTA5Dataset
from mmseg_reco.datasets.label_maps import (CITYSCAPES_ID_TO_TRAIN_ID,
                                            to_train_ids, train_id_lut)



def test_id_mapping_covers_the_19_classes():
    assert sorted(CITYSCAPES_ID_TO_TRAIN_ID.values()) == list(range(19))
    lut = train_id_lut()
    assert lut[7] == 0 and lut[33] == 18 and lut[26] == 13
    void = [i for i in range(256) if i not in CITYSCAPES_ID_TO_TRAIN_ID]
    assert (lut[void] == 255).all()
    assert to_train_ids(np.array([[24, 34]])).tolist() == [[11, 255]]


def test_converted_labels_and_dataset(gta5_tree):
    root = gta5_tree['root']
    stem = gta5_tree['train'][0]
    raw = np.asarray(Image.open(osp.join(root, 'labels', stem + '.png')))
    converted = np.asarray(Image.open(osp.join(
        root, 'labels', stem + '_labelTrainIds.png')))
    assert (converted == to_train_ids(raw)).all()
    assert (converted[raw == 7] == 0).all()
    assert (converted[raw == 1] == 255).all()
    dataset = DATASETS.build(
        dict(type='GTA5Dataset', data_root=root,
             data_prefix=dict(img_path='images', seg_map_path='labels'),
             ann_file='splits/train.txt',
             pipeline=[dict(type='LoadImageFromFile'),
                       dict(type='LoadAnnotations')]))
    assert isinstance(dataset, GTA5Dataset)
    assert len(dataset) == len(gta5_tree['train'])
    assert dataset.metainfo['classes'] == CityscapesDataset.METAINFO[
        'classes']
    assert (dataset[0]['gt_seg_map'] == converted).all()
    # listing the folder gives the same images (labels are not listed)
    listed = DATASETS.build(
        dict(type='GTA5Dataset', data_root=root,
             data_prefix=dict(img_path='images', seg_map_path='labels')))
    assert len(listed) == len(dataset)


def test_convert_resizes_mismatched_labels(tmp_path, fake_trees):
    root = fake_trees['gta5'](tmp_path / 'gta5', num=2, converted=False)
    # a label smaller than its image, as a few GTA5 labels are
    fake_trees['write_label'](osp.join(root['root'], 'labels', '00002.png'),
                              np.full((13, 24), 26, np.uint8), palette=True)
    out = convert(root['root'])
    assert out['resized_labels'] == ['00002']
    label = np.asarray(Image.open(osp.join(root['root'], 'labels',
                                           '00002_labelTrainIds.png')))
    assert label.shape == (26, 48) and (label == 13).all()
    small = convert(root['root'], str(tmp_path / 'small'), (24, 13))
    assert small['stems'] == ['00001', '00002']
    assert Image.open(tmp_path / 'small' / 'images' / '00001.png').size == \
        (24, 13)
    with pytest.raises(ValueError, match='overwrite'):
        convert(root['root'], size=(24, 13))


def test_convert_gta5_command_line(tmp_path, fake_trees, load_tool, capsys):
    root = fake_trees['gta5'](tmp_path / 'gta5', num=2, converted=False)
    main = load_tool('convert_gta5').main
    main([root['root'], '--out', str(tmp_path / 'small'), '--size', '24x13'])
    assert capsys.readouterr().out.strip() == \
        '2 images; 0 label(s) resized to their image size'
    assert Image.open(tmp_path / 'small' / 'labels' /
                      '00001_labelTrainIds.png').size == (24, 13)
    with pytest.raises(SystemExit, match='error: .*WIDTHxHEIGHT'):
        main([root['root'], '--out', str(tmp_path / 'x'), '--size', 'big'])
