"""tools/check_data.py and mmseg_reco.datasets.data_check: every planted
problem of a folder tree is found, with its file, and nothing else; the
clean demo data raises no alarm."""
import os
import os.path as osp
import sys

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from mmseg_reco.datasets.data_check import check_data, iter_dataset_cfgs
from repo_scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LEAF = osp.join(REPO, 'configs', 'baselines',
                'classmix_deeplabv3plus-r18-d8_1xb4-1k_folder-full.py')
DEMO_CONFIG = osp.join(
    REPO, 'configs', 'baselines',
    'classmix_deeplabv3plus-r18-d8_1xb4-1k_fashion-canvas-60lab.py')
DEMO = osp.join(REPO, 'data', 'fashion_canvas')
CLASSES = ('background', 'cat', 'dog')
SIZE = 32


def write_png(path, array, mode=None):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8), mode=mode).save(path)


def make_tree(root, seed=0):
    """A clean tree in semi_folder.py's layout: 4 labelled, 3 unlabelled
    and 2 validation 32x32 images; returns the label maps by path."""
    rng = np.random.default_rng(seed)
    labels = {}
    for split, count in (('train', 4), ('val', 2)):
        for i in range(count):
            stem = f'{split}_{i:02d}'
            write_png(osp.join(root, split, 'images', stem + '.png'),
                      rng.integers(0, 256, (SIZE, SIZE, 3)))
            label = rng.integers(0, 3, (SIZE, SIZE)).astype(np.uint8)
            label[0] = 255
            path = osp.join(root, split, 'labels', stem + '.png')
            write_png(path, label)
            labels[path] = label
    for i in range(3):
        write_png(osp.join(root, 'unlabelled', f'u{i}.png'),
                  rng.integers(0, 256, (SIZE, SIZE, 3)))
    return labels


def relocate(cfg, root):
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            if key == 'data_root':
                cfg[key] = root
            else:
                relocate(value, root)
    elif isinstance(cfg, list):
        for value in cfg:
            relocate(value, root)


def folder_config(root):
    """The shipped folder leaf with every dataset at ``root`` and the
    three classes of :func:`make_tree`."""
    cfg = Config.fromfile(LEAF)
    for loader in ('train_dataloader', 'val_dataloader'):
        relocate(cfg[loader], root)
    for _, ds, _ in iter_dataset_cfgs(cfg):
        ds['metainfo'] = dict(classes=CLASSES,
                              palette=[[0, 0, 0], [255, 0, 0], [0, 255, 0]])
    return cfg


def truncate(path, size):
    with open(path, 'rb') as f:
        head = f.read(size)
    with open(path, 'wb') as f:
        f.write(head)


def plant_problems(root):
    """One file per kind of problem; returns the expected findings as
    (kind, severity, path relative to root), and those found only when
    images are decoded."""
    rng = np.random.default_rng(1)
    # a colour mask: class 1 red on black
    rgb = np.zeros((SIZE, SIZE, 3), np.uint8)
    rgb[4:12, 4:12] = (255, 0, 0)
    write_png(osp.join(root, 'train/labels/train_00.png'), rgb)
    # a value outside 0..2 other than 255
    bad = np.zeros((SIZE, SIZE), np.uint8)
    bad[0, :5] = 7
    write_png(osp.join(root, 'train/labels/train_01.png'), bad)
    # a label of another size than its image
    write_png(osp.join(root, 'train/labels/train_02.png'),
              np.zeros((SIZE // 2, SIZE), np.uint8))
    # an empty labelled image
    open(osp.join(root, 'train/images/train_03.png'), 'wb').close()
    # an image without label, a label without image
    write_png(osp.join(root, 'train/images/extra.png'),
              rng.integers(0, 256, (SIZE, SIZE, 3)))
    write_png(osp.join(root, 'train/labels/orphan.png'),
              np.zeros((SIZE, SIZE), np.uint8))
    # '.PNG' for '.png': its label is then an orphan
    write_png(osp.join(root, 'train/images/caps.PNG'),
              rng.integers(0, 256, (SIZE, SIZE, 3)))
    write_png(osp.join(root, 'train/labels/caps.png'),
              np.zeros((SIZE, SIZE), np.uint8))
    # unlabelled: empty, not an image, wrong-case suffix, truncated
    open(osp.join(root, 'unlabelled/empty.png'), 'wb').close()
    with open(osp.join(root, 'unlabelled/notes.png'), 'w') as f:
        f.write('not an image\n')
    write_png(osp.join(root, 'unlabelled/upper.PNG'),
              rng.integers(0, 256, (SIZE, SIZE, 3)))
    write_png(osp.join(root, 'unlabelled/cut.png'),
              rng.integers(0, 256, (SIZE, SIZE, 3)))
    truncate(osp.join(root, 'unlabelled/cut.png'), 300)
    # validation: a value outside the classes
    val = np.zeros((SIZE, SIZE), np.uint8)
    val[3, 3] = 9
    write_png(osp.join(root, 'val/labels/val_01.png'), val)
    found = {
        ('colour-mask', 'error', 'train/labels/train_00.png'),
        ('label-values', 'error', 'train/labels/train_01.png'),
        ('size-mismatch', 'error', 'train/labels/train_02.png'),
        ('unreadable', 'error', 'train/images/train_03.png'),
        ('missing-label', 'error', 'train/images/extra.png'),
        ('missing-image', 'error', 'train/labels/orphan.png'),
        ('suffix-case', 'error', 'train/images/caps.PNG'),
        ('unreadable', 'warning', 'unlabelled/empty.png'),
        ('unreadable', 'warning', 'unlabelled/notes.png'),
        ('suffix-case', 'warning', 'unlabelled/upper.PNG'),
        ('label-values', 'error', 'val/labels/val_01.png'),
    }
    decoded_only = {('unreadable', 'warning', 'unlabelled/cut.png')}
    return found, decoded_only


def findings(report, root):
    return {(p.kind, p.severity, osp.relpath(p.path, root))
            for p in report.problems}


@pytest.fixture
def tree(tmp_path):
    root = str(tmp_path / 'my_data')
    return root, make_tree(root)


def test_clean_tree_has_no_problem_and_counts_every_pixel(tree):
    root, labels = tree
    report = check_data(folder_config(root))
    assert report.problems == []
    labelled, unlabelled, val = report.datasets
    assert [d.role for d in report.datasets] == [
        'labelled', 'unlabelled', 'validation']
    assert labelled.folders[osp.join(root, 'train/images')][0] == 4
    assert unlabelled.folders[osp.join(root, 'unlabelled')][0] == 3
    assert dict(labelled.sizes) == {(SIZE, SIZE): 4}
    train = [v for k, v in labels.items() if '/train/' in k]
    expected = np.bincount(np.concatenate([x.ravel() for x in train]),
                           minlength=256)
    np.testing.assert_array_equal(labelled.class_pixels, expected[:3])
    assert labelled.ignore_pixels == expected[255]
    assert labelled.class_maps.tolist() == [4, 4, 4]


def test_finds_every_planted_problem_and_nothing_else(tree):
    root, _ = tree
    expected, decoded_only = plant_problems(root)
    report = check_data(folder_config(root))
    assert findings(report, root) == expected
    decoded = check_data(folder_config(root), decode=True)
    assert findings(decoded, root) == expected | decoded_only
    # errors come first, and each problem says what to do
    severities = [p.severity for p in report.problems]
    assert severities == sorted(severities)  # 'error' < 'warning'
    colour = next(p for p in report.problems if p.kind == 'colour-mask')
    assert 'tools/convert_color_masks.py' in colour.fix
    assert osp.join(root, 'train', 'labels') in colour.fix
    values = next(p for p in report.problems
                  if p.path.endswith('train_01.png'))
    assert '7 (5 px)' in values.message
    text = report.format()
    for kind, severity, rel in expected:
        assert f'{severity.upper()} {kind}: {osp.join(root, rel)}' in text


def test_colour_mask_with_equal_channels_is_told_to_keep_one(tree):
    root, labels = tree
    path = osp.join(root, 'train/labels/train_00.png')
    write_png(path, np.repeat(labels[path][..., None], 3, axis=2))
    problems = check_data(folder_config(root)).problems
    assert [(p.kind, p.path) for p in problems] == [('colour-mask', path)]
    assert "convert('L')" in problems[0].fix


def test_tool_exit_status_follows_labelled_errors_only(tree, tmp_path):
    root, _ = tree
    tool = load_script('tools/check_data.py', 'check_data_tool_test')
    try:
        config = str(tmp_path / 'folder.py')
        folder_config(root).dump(config)
        assert tool.main([config]) == 0
        # unlabelled problems are warnings: still 0
        open(osp.join(root, 'unlabelled/empty.png'), 'wb').close()
        assert tool.main([config]) == 0
        open(osp.join(root, 'val/images/val_00.png'), 'wb').close()
        assert tool.main([config]) == 1
    finally:
        del sys.modules['check_data_tool_test']


@pytest.mark.needs_data(
    osp.join(DEMO, 'meta.json'), osp.join(DEMO, 'splits/labelled-60.txt'),
    reason='demo data missing: run tools/setup_env.sh')
def test_demo_data_raises_no_alarm():
    report = check_data(DEMO_CONFIG, decode=True)
    assert report.problems == []
    labelled, unlabelled, val = report.datasets
    assert (labelled.type, unlabelled.type, val.type) == (
        'FashionCanvasDataset', 'UnlabelledDataset', 'FashionCanvasDataset')
    assert dict(labelled.sizes) == {(64, 64): 60}
    assert sum(unlabelled.sizes.values()) == 1940
    assert dict(val.sizes) == {(64, 64): 300}
    # every class occurs in the validation labels; nothing is invalid
    assert (val.class_pixels > 0).all() and not val.other_values
