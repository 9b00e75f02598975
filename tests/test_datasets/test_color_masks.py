"""Colour masks: the error when a labelled dataset loads one (before any
batch is stacked), and tools/convert_color_masks.py."""
import os
import os.path as osp
import sys

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

from mmseg.registry import DATASETS
from mmseg_reco.datasets import CheckSegLabels
from mmseg_reco.datasets.color_masks import (convert_color_mask,
                                             parse_palette)
from repo_scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PALETTE = [[0, 0, 0], [255, 0, 0], [0, 255, 0]]


def write_png(path, array):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8)).save(path)


def colour_of(index, palette=PALETTE):
    return np.asarray(palette, np.uint8)[index]


def test_convert_maps_palette_colours_and_counts_unknown_ones():
    index = np.array([[0, 1, 2], [2, 1, 0]])
    rgb = colour_of(index)
    rgb[1, 2] = (9, 9, 9)   # not in the palette
    rgb[0, 0] = (255, 0, 1)
    out, unknown = convert_color_mask(rgb, PALETTE)
    assert out.dtype == np.uint8
    assert out.tolist() == [[255, 1, 2], [2, 1, 255]]
    assert dict(unknown) == {(9, 9, 9): 1, (255, 0, 1): 1}


def test_palette_with_a_colour_twice_is_refused():
    with pytest.raises(ValueError, match=r'\(255, 0, 0\)'):
        convert_color_mask(np.zeros((2, 2, 3), np.uint8),
                           [[0, 0, 0], [255, 0, 0], [255, 0, 0]])


def test_palette_from_text_and_from_a_config():
    assert parse_palette('0,0,0;255,0,0') == [[0, 0, 0], [255, 0, 0]]
    assert parse_palette('[[0, 0, 0], [1, 2, 3]]') == [[0, 0, 0], [1, 2, 3]]
    folder = osp.join(REPO, 'configs/_base_/datasets/semi_folder.py')
    assert parse_palette(folder) == [
        list(c) for c in Config.fromfile(folder).metainfo.palette]
    # a dataset type's METAINFO when the config gives none
    demo = osp.join(REPO, 'configs/_base_/datasets/fashion_canvas.py')
    palette = parse_palette(demo)
    assert len(palette) == 11 and palette[1] == [230, 25, 75]


def test_tool_converts_a_folder_and_reports_unknown_colours(tmp_path,
                                                            capsys):
    rng = np.random.default_rng(0)
    index = rng.integers(0, 3, (2, 8, 8))
    src, dst = tmp_path / 'rgb', tmp_path / 'index'
    write_png(src / 'a.png', colour_of(index[0]))
    noisy = colour_of(index[1])
    noisy[0, :3] = (1, 2, 3)
    write_png(src / 'sub' / 'b.png', noisy)
    write_png(src / 'c.png', index[0])  # already an index map
    tool = load_script('tools/convert_color_masks.py', 'convert_masks_test')
    try:
        report = tool.main([str(src), str(dst), '--palette',
                            '0,0,0;255,0,0;0,255,0'])
    finally:
        del sys.modules['convert_masks_test']
    assert np.array_equal(np.array(Image.open(dst / 'a.png')), index[0])
    b = np.array(Image.open(dst / 'sub' / 'b.png'))
    expected = index[1].copy()
    expected[0, :3] = 255
    assert Image.open(dst / 'sub' / 'b.png').mode == 'L'
    assert np.array_equal(b, expected)
    assert np.array_equal(np.array(Image.open(dst / 'c.png')), index[0])
    assert (len(report.converted), len(report.copied)) == (2, 1)
    assert report.unknown_pixels == 3
    out = capsys.readouterr().out
    assert '3 pixel(s) of colours outside the palette, in 1 file(s)' in out
    assert '(1, 2, 3) (3 px)' in out and str(src / 'sub' / 'b.png') in out


def test_tool_refuses_to_overwrite_its_input(tmp_path):
    write_png(tmp_path / 'm' / 'a.png', colour_of(np.zeros((2, 2), int)))
    tool = load_script('tools/convert_color_masks.py', 'convert_masks_test')
    try:
        with pytest.raises(SystemExit, match='another folder'):
            tool.main([str(tmp_path / 'm'), str(tmp_path / 'm'),
                       '--palette', '0,0,0'])
    finally:
        del sys.modules['convert_masks_test']


# --------------------------------------------------------------------------
# the error on load
# --------------------------------------------------------------------------
def test_check_seg_labels_refuses_channels_naming_the_file():
    check = CheckSegLabels(num_classes=3)
    label = np.zeros((4, 5, 3), np.uint8)
    label[0, 0] = (255, 0, 0)
    with pytest.raises(ValueError) as info:
        check(dict(gt_seg_map=label, seg_map_path='d/labels/x.png',
                   img=np.zeros((4, 5, 3), np.uint8)))
    msg = str(info.value)
    assert "'d/labels/x.png' has 3 channels (4x5x3" in msg
    assert 'tools/convert_color_masks.py d/labels d/labels_index' in msg


def test_rgb_label_fails_in_the_dataset_not_at_stacking(tmp_path):
    """The failure the issue reports (``stack expects each tensor to be
    equal size`` in the segmentor) now happens when the sample is loaded,
    with the file and the fix named."""
    init_default_scope('mmseg')
    root = tmp_path / 'data'
    rng = np.random.default_rng(0)
    for i in range(2):
        write_png(root / 'images' / f'{i}.png',
                  rng.integers(0, 256, (16, 16, 3)))
    write_png(root / 'labels' / '0.png', np.zeros((16, 16)))
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[2:6, 2:6] = (255, 0, 0)
    write_png(root / 'labels' / '1.png', rgb)
    dataset = DATASETS.build(dict(
        type='FolderSegDataset', data_root=str(root),
        data_prefix=dict(img_path='images', seg_map_path='labels'),
        img_suffix='.png', metainfo=dict(classes=('bg', 'nucleus')),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations'),
                  dict(type='RandomCrop', crop_size=(8, 8)),
                  dict(type='PackSegInputs')]))
    assert dataset[0]['data_samples'].gt_sem_seg.data.shape == (1, 8, 8)
    with pytest.raises(ValueError,
                       match=r"labels/1\.png' has 3 channels.*"
                       r'convert_color_masks\.py'):
        dataset[1]
