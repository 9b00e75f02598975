"""VOCAugDataset and the VOC + SBD converter on fake trees."""
import os
import os.path as osp

import numpy as np
import pytest
from mmseg.registry import DATASETS
from PIL import Image
from scipy.io import savemat

from mmseg_reco.datasets.converters.voc_aug import convert
from mmseg_reco.datasets.voc_aug import VOCAugDataset



def test_loads_split_and_labels(voc_tree):
    root = voc_tree['root']
    dataset = DATASETS.build(
        dict(type='VOCAugDataset', data_root=root,
             ann_file='ImageSets/Segmentation/train_aug.txt',
             pipeline=[dict(type='LoadImageFromFile'),
                       dict(type='LoadAnnotations')]))
    assert isinstance(dataset, VOCAugDataset)
    assert len(dataset) == len(voc_tree['train'])
    assert dataset.metainfo['classes'][0] == 'background'
    item = dataset[0]
    expected = np.asarray(Image.open(osp.join(
        root, 'SegmentationClassAug', voc_tree['train'][0] + '.png')))
    assert (item['gt_seg_map'] == expected).all()
    # the val set reads the VOC palette PNGs as class ids
    val = DATASETS.build(
        dict(type='VOCAugDataset', data_root=root,
             ann_file='ImageSets/Segmentation/val.txt',
             data_prefix=dict(img_path='JPEGImages',
                              seg_map_path='SegmentationClass'),
             pipeline=[dict(type='LoadAnnotations')]))
    aug = np.asarray(Image.open(osp.join(
        root, 'SegmentationClassAug', voc_tree['val'][0] + '.png')))
    assert (val[0]['gt_seg_map'] == aug).all()


def test_missing_image_names_split_file(voc_tree):
    root = voc_tree['root']
    split = osp.join(root, 'splits', 'labelled-bad.txt')
    os.makedirs(osp.dirname(split))
    with open(split, 'w') as f:
        f.write(voc_tree['train'][0] + '\nmissing_0001\n')
    with pytest.raises(FileNotFoundError,
                       match=r"labelled-bad.txt.*missing_0001\.jpg"):
        DATASETS.build(dict(type='VOCAugDataset', data_root=root,
                            ann_file='splits/labelled-bad.txt'))
    with open(split, 'w') as f:
        f.write('\n')
    with pytest.raises(ValueError, match='labelled-bad.txt.*lists no images'):
        DATASETS.build(dict(type='VOCAugDataset', data_root=root,
                            ann_file='splits/labelled-bad.txt'))


def make_raw(tmp_path, fake_trees):
    """A VOCdevkit and benchmark_RELEASE in ``tmp_path`` (5 train_aug
    images); returns the labels ``SegmentationClassAug`` must hold."""
    rng = np.random.default_rng(0)
    voc = tmp_path / 'VOCdevkit' / 'VOC2012'
    sbd = tmp_path / 'benchmark_RELEASE' / 'dataset'
    voc_train, voc_val = ['a1', 'a2'], ['v1', 'v2']
    sbd_train, sbd_val = ['a1', 's1', 's2', 'v1'], ['s3', 'v2']
    for stem in voc_train + voc_val + ['s1', 's2', 's3']:
        fake_trees['write_image'](str(voc / 'JPEGImages' / (stem + '.jpg')),
                                  rng, 8, 8)
    labels = {}
    for stem in voc_train + voc_val:
        labels[stem] = fake_trees['blob_label'](rng, [5], 8, 8, border=True)
        fake_trees['write_label'](
            str(voc / 'SegmentationClass' / (stem + '.png')), labels[stem],
            palette=True)
    os.makedirs(sbd / 'cls')
    for stem in sorted(set(sbd_train + sbd_val)):
        seg = np.full((8, 8), 7, np.uint8)  # SBD labels: no 255 border
        savemat(str(sbd / 'cls' / (stem + '.mat')),
                {'GTcls': {'Segmentation': seg}})
        labels.setdefault(stem, seg)
    sets = voc / 'ImageSets' / 'Segmentation'
    fake_trees['write_list'](str(sets / 'train.txt'), voc_train)
    fake_trees['write_list'](str(sets / 'val.txt'), voc_val)
    fake_trees['write_list'](str(sbd / 'train.txt'), sbd_train)
    fake_trees['write_list'](str(sbd / 'val.txt'), sbd_val)
    return labels


def test_convert_voc_aug(tmp_path, fake_trees):
    labels = make_raw(tmp_path, fake_trees)
    voc = tmp_path / 'VOCdevkit' / 'VOC2012'
    sets = voc / 'ImageSets' / 'Segmentation'
    out = convert(str(tmp_path / 'VOCdevkit'),
                  str(tmp_path / 'benchmark_RELEASE'), expected=5)
    assert out['train_aug'] == ['a1', 'a2', 's1', 's2', 's3']
    assert out['aug'] == ['s1', 's2', 's3']
    for stem, label in labels.items():
        written = np.asarray(Image.open(
            voc / 'SegmentationClassAug' / (stem + '.png')))
        # VOC labels win over SBD ones for the VOC images
        assert (written == label).all(), stem
    assert (sets / 'train_aug.txt').read_text().split() == out['train_aug']
    with pytest.raises(ValueError, match='holds 5 images, expected 10582'):
        convert(str(tmp_path / 'VOCdevkit'),
                str(tmp_path / 'benchmark_RELEASE'))
    os.remove(voc / 'JPEGImages' / 's3.jpg')
    with pytest.raises(FileNotFoundError, match='s3'):
        convert(str(tmp_path / 'VOCdevkit'),
                str(tmp_path / 'benchmark_RELEASE'), expected=None)


def test_convert_voc_aug_command_line(tmp_path, fake_trees, load_tool,
                                      capsys):
    make_raw(tmp_path, fake_trees)
    main = load_tool('convert_voc_aug').main
    args = [str(tmp_path / 'VOCdevkit'), str(tmp_path / 'benchmark_RELEASE')]
    with pytest.raises(SystemExit, match='error: train_aug holds 5 images'):
        main(args)
    main(args + ['--no-check', '--nproc', '2'])
    assert capsys.readouterr().out.strip() == (
        'SegmentationClassAug: 3 SBD + 4 VOC labels; train_aug.txt 5 '
        'images, aug.txt 3 images')
