"""Unreadable unlabelled images never stop a run: UnlabelledDataset skips
them, UnreadableImageHook logs them, and a real tools/train.py run over a
folder of truncated, empty and non-image files finishes; labelled files
stay strict."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

from mmseg.registry import DATASETS
from mmseg_reco.datasets.unlabelled_dataset import (UNREADABLE_KEY,
                                                    redraw_index,
                                                    unreadable_reason)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LEAF = osp.join(REPO, 'configs', 'baselines',
                'classmix_deeplabv3plus-r18-d8_1xb4-1k_folder-full.py')
SIZE = 32


def write_png(path, array):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8)).save(path)


def plant_unreadable(folder, rng):
    """A PNG truncated to 300 bytes, an empty one and a text file named
    .png; returns their paths."""
    cut = osp.join(folder, 'b_truncated.png')
    write_png(cut, rng.integers(0, 256, (SIZE, SIZE, 3)))
    with open(cut, 'rb') as f:
        head = f.read(300)
    with open(cut, 'wb') as f:
        f.write(head)
    empty = osp.join(folder, 'd_empty.png')
    open(empty, 'wb').close()
    text = osp.join(folder, 'f_text.png')
    with open(text, 'w') as f:
        f.write('this is not an image\n')
    return [cut, empty, text]


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    root = str(tmp_path / 'unlabelled')
    good = []
    for name in ('a', 'c', 'e'):
        path = osp.join(root, f'{name}_good.png')
        write_png(path, rng.integers(0, 256, (SIZE, SIZE, 3)))
        good.append(path)
    bad = plant_unreadable(root, rng)
    return root, good, bad


def unlabelled(root, **kwargs):
    init_default_scope('mmseg')
    return DATASETS.build(dict(
        type='UnlabelledDataset', data_root=root, img_suffix='.png',
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='PackSegInputs')], **kwargs))


def test_reasons_of_unreadable_files(folder):
    _, good, (cut, empty, text) = folder
    assert unreadable_reason(good[0]) is None
    assert unreadable_reason(empty) == 'empty file (0 bytes)'
    assert unreadable_reason(cut).startswith('cannot be decoded')
    assert unreadable_reason(text).startswith('cannot be decoded')
    assert unreadable_reason(good[0] + '.gone') == 'missing'


def test_skips_unreadable_images_deterministically_and_marks_them(folder):
    root, good, bad = folder
    dataset = unlabelled(root)
    paths = [dataset.get_data_info(i)['img_path'] for i in range(6)]
    assert paths == sorted(good + bad)
    for idx, path in enumerate(paths):
        sample = dataset[idx]['data_samples']
        if path in good:
            assert sample.img_path == path
            assert UNREADABLE_KEY not in sample.metainfo
            continue
        # the replacement follows the redraw rule, whatever the process
        skipped, j, attempt = [], idx, 0
        while paths[j] in bad:
            skipped.append(paths[j])
            j = redraw_index(j, attempt, 6)
            attempt += 1
        assert sample.img_path == paths[j]
        assert sample.metainfo[UNREADABLE_KEY] == skipped
    # a second pass skips the known files again, without decoding them
    assert sorted(dataset._unreadable) == [paths.index(p) for p in bad]
    again = dataset[paths.index(bad[0])]['data_samples']
    assert again.metainfo[UNREADABLE_KEY][0] == bad[0]


def test_raise_keeps_the_loading_error(folder):
    root, _, bad = folder
    dataset = unlabelled(root, on_unreadable='raise')
    idx = [dataset.get_data_info(i)['img_path'] for i in range(6)].index(
        bad[0])
    with pytest.raises(Exception, match='b_truncated.png'):
        dataset[idx]


def test_a_failing_transform_on_a_readable_image_still_raises(folder):
    """Only files that cannot be decoded are skipped: an error of the
    pipeline itself reaches the user."""
    root, _, _ = folder
    dataset = unlabelled(root)
    dataset.pipeline.transforms.insert(1, _Explode())
    with pytest.raises(RuntimeError, match='transform bug'):
        dataset[0]


class _Explode:

    def __call__(self, results):
        raise RuntimeError('transform bug')


def test_labelled_unreadable_image_stays_an_error(tmp_path):
    init_default_scope('mmseg')
    rng = np.random.default_rng(0)
    root = tmp_path / 'data'
    write_png(root / 'images' / 'x.png', rng.integers(0, 256, (8, 8, 3)))
    write_png(root / 'labels' / 'x.png', np.zeros((8, 8)))
    dataset = DATASETS.build(dict(
        type='FolderSegDataset', data_root=str(root), img_suffix='.png',
        data_prefix=dict(img_path='images', seg_map_path='labels'),
        metainfo=dict(classes=('a', 'b')), check_sizes=False,
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations'),
                  dict(type='PackSegInputs')]))
    open(root / 'images' / 'x.png', 'wb').close()
    with pytest.raises(Exception, match='x.png'):
        dataset[0]


# --------------------------------------------------------------------------
# a real run: tools/train.py, two data-loader workers (persistent)
# --------------------------------------------------------------------------
def make_run_tree(root):
    rng = np.random.default_rng(0)
    for split, count in (('train', 4), ('val', 1)):
        for i in range(count):
            write_png(osp.join(root, split, 'images', f'{i}.png'),
                      rng.integers(0, 256, (SIZE, SIZE, 3)))
            write_png(osp.join(root, split, 'labels', f'{i}.png'),
                      rng.integers(0, 3, (SIZE, SIZE)))
    for name in ('a', 'c', 'e'):
        write_png(osp.join(root, 'unlabelled', f'{name}_good.png'),
                  rng.integers(0, 256, (SIZE, SIZE, 3)))
    return plant_unreadable(osp.join(root, 'unlabelled'), rng)


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


def test_train_run_over_unreadable_unlabelled_files_finishes(tmp_path):
    root = str(tmp_path / 'my_data')
    bad = make_run_tree(root)
    cfg = Config.fromfile(LEAF)
    relocate(cfg.train_dataloader, root)
    classes = ('background', 'cat', 'dog')
    for ds in cfg.train_dataloader.dataset.datasets:
        ds.metainfo = dict(classes=classes)
    cfg.model.segmentor.decode_head.num_classes = len(classes)
    cfg.custom_hooks = cfg.custom_hooks + cfg.data_hooks
    cfg.train_dataloader.update(batch_size=4, num_workers=2,
                                persistent_workers=True)
    cfg.train_dataloader.sampler.update(batch_size=4, num_labelled=2)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=4,
                         val_interval=100)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=2)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    cfg.env_cfg.mp_cfg = dict(mp_start_method='fork', opencv_num_threads=0)
    config = str(tmp_path / 'run.py')
    cfg.dump(config)
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    done = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools/train.py'), config,
         '--work-dir', str(tmp_path / 'work')],
        env=env, capture_output=True, text=True, timeout=600)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    assert 'Iter(train) [4/4]' in log
    # 6 unlabelled draws per pass (the sampler permutes the 6 files), so
    # each of the 3 bad files was drawn in 4 iterations x 2 images
    line = [ln for ln in log.splitlines()
            if 'unreadable unlabelled images skipped so far' in ln][-1]
    assert ': 3 files (' in line
    for path in bad:
        assert repr(path) in line
