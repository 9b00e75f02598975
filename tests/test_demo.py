"""mmseg_reco.demo: the demo's shared paths and the split it makes."""
import os
import os.path as osp

import numpy as np
import pytest

from mmseg_reco import demo
from mmseg_reco.datasets.fashion_canvas_builder import build_demo


def read(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def test_paths_are_the_ones_the_tools_use(repo_root):
    assert demo.REPO_ROOT == repo_root
    assert demo.repo_path(demo.PRETRAINED_CHECKPOINT) == osp.join(
        repo_root, 'work_dirs/pretrain/resnet18w32-v1c_fashion-mnist.pth')
    assert demo.repo_path('/abs/x.pth') == '/abs/x.pth'
    assert demo.split_files(20) == ('splits/labelled-20.txt',
                                    'splits/unlabelled-20.txt')
    assert demo.split_files(20, seed=2) == ('splits/labelled-20-seed2.txt',
                                            'splits/unlabelled-20-seed2.txt')


def test_ensure_split_writes_the_class_balanced_split_once(tmp_path):
    rng = np.random.default_rng(0)
    images = np.zeros((30, 28, 28), np.uint8)
    images[:, 4:24, 6:22] = rng.integers(1, 256, (30, 20, 16))
    labels = rng.integers(0, 10, 30).astype(np.uint8)
    root = str(tmp_path / 'canvas')
    build_demo(out_dir=root, num_train=12, num_val=4,
               data=dict(train=(images, labels), val=(images, labels)),
               verbose=False)
    labelled, unlabelled = demo.ensure_split(4, seed=1, data_root=root)
    assert labelled == osp.join(root, 'splits', 'labelled-4-seed1.txt')
    train = read(osp.join(root, 'splits', 'train.txt'))
    chosen, rest = read(labelled), read(unlabelled)
    assert len(chosen) == 4 and sorted(chosen + rest) == sorted(train)
    # present: not written again
    stamp = os.stat(labelled).st_mtime_ns
    assert demo.ensure_split(4, seed=1, data_root=root) == (labelled,
                                                            unlabelled)
    assert os.stat(labelled).st_mtime_ns == stamp


def test_ensure_split_names_a_missing_data_root(tmp_path):
    with pytest.raises(FileNotFoundError, match='holds no demo data'):
        demo.ensure_split(4, data_root=str(tmp_path))


def test_ensure_pretrained_keeps_an_existing_checkpoint(tmp_path):
    path = tmp_path / 'backbone.pth'
    path.write_bytes(b'x')
    assert demo.ensure_pretrained(str(path)) is None
    assert path.read_bytes() == b'x'
