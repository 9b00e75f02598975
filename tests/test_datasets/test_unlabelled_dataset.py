import os.path as osp

import numpy as np
import pytest

pytest.importorskip('mmseg')
from mmengine.registry import init_default_scope  # noqa: E402
from mmseg.registry import DATASETS  # noqa: E402

from mmseg_reco.datasets.fashion_canvas import FashionCanvasDataset  # noqa
from mmseg_reco.datasets.fashion_canvas_builder import build_demo  # noqa
from mmseg_reco.datasets.unlabelled_dataset import UnlabelledDataset  # noqa



@pytest.fixture(scope='module')
def canvas_root(tmp_path_factory):
    """A tiny Fashion-MNIST canvas set (12 train / 4 val) from synthetic
    items."""
    rng = np.random.default_rng(0)
    images = np.zeros((30, 28, 28), np.uint8)
    images[:, 4:24, 6:22] = rng.integers(1, 256, (30, 20, 16))
    labels = rng.integers(0, 10, 30).astype(np.uint8)
    init_default_scope('mmseg')
    root = tmp_path_factory.mktemp('fashion_canvas')
    build_demo(
        out_dir=str(root), num_train=12, num_val=4,
        data=dict(train=(images, labels), val=(images, labels)),
        verbose=False)
    return root


def _cfg(root, **kwargs):
    cfg = dict(
        type='UnlabelledDataset',
        data_root=str(root),
        data_prefix=dict(img_path='img_dir/train'),
        img_suffix='.png')
    cfg.update(kwargs)
    return cfg


def test_lists_folder_without_labels(canvas_root):
    (canvas_root / 'img_dir' / 'train' / 'notes.txt').write_text('x')
    dataset = DATASETS.build(_cfg(canvas_root))
    assert isinstance(dataset, UnlabelledDataset)
    assert len(dataset) == 12
    names = [osp.basename(dataset.get_data_info(i)['img_path'])
             for i in range(len(dataset))]
    assert names == [f'train_{i:05d}.png' for i in range(12)]
    info = dataset.get_data_info(0)
    assert 'seg_map_path' not in info
    assert info['unlabelled'] and info['seg_fields'] == []
    assert osp.isfile(info['img_path'])


def test_pipeline_without_load_annotations(canvas_root):
    dataset = DATASETS.build(
        _cfg(canvas_root,
             pipeline=[
                 dict(type='LoadImageFromFile'),
                 dict(type='RandomFlip', prob=1.0),
                 dict(type='PackSegInputs')
             ]))
    sample = dataset[0]
    assert tuple(sample['inputs'].shape) == (3, 64, 64)
    assert 'gt_sem_seg' not in sample['data_samples']


def test_ann_file_subset(canvas_root):
    stems = ['train_00003', 'train_00000', 'train_00011']
    (canvas_root / 'unlabelled.txt').write_text('\n'.join(stems) + '\n\n')
    dataset = DATASETS.build(_cfg(canvas_root, ann_file='unlabelled.txt'))
    assert len(dataset) == 3
    assert [
        osp.basename(dataset.get_data_info(i)['img_path']) for i in range(3)
    ] == [s + '.png' for s in stems]


def test_metainfo_follows_labelled_dataset(canvas_root):
    plain = DATASETS.build(_cfg(canvas_root))
    assert not plain.metainfo.get('classes')

    follow = DATASETS.build(
        _cfg(canvas_root, metainfo_from='FashionCanvasDataset'))
    assert follow.metainfo['classes'] == FashionCanvasDataset.METAINFO[
        'classes']
    assert follow.metainfo['palette'] == FashionCanvasDataset.METAINFO[
        'palette']

    classes = ('background', 'item')
    given = DATASETS.build(
        _cfg(canvas_root,
             metainfo=dict(classes=classes, palette=[[0, 0, 0], [9, 9, 9]])))
    assert tuple(given.metainfo['classes']) == classes

    with pytest.raises(KeyError, match='NoSuchDataset'):
        DATASETS.build(_cfg(canvas_root, metainfo_from='NoSuchDataset'))


def test_clear_errors(canvas_root, tmp_path):
    with pytest.raises(FileNotFoundError, match='img_dir/nothing'):
        DATASETS.build(
            _cfg(canvas_root, data_prefix=dict(img_path='img_dir/nothing')))

    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='no images'):
        UnlabelledDataset(data_prefix=dict(img_path=str(tmp_path / 'empty')),
                          img_suffix='.png')

    (canvas_root / 'blank.txt').write_text('\n\n')
    with pytest.raises(ValueError, match='lists no images'):
        DATASETS.build(_cfg(canvas_root, ann_file='blank.txt'))

    with pytest.raises(FileNotFoundError, match='missing.txt'):
        DATASETS.build(_cfg(canvas_root, ann_file='missing.txt'))

    (canvas_root / 'typo.txt').write_text('train_00001\ntrain_0000x\n')
    with pytest.raises(FileNotFoundError, match='train_0000x.png'):
        DATASETS.build(_cfg(canvas_root, ann_file='typo.txt'))

    # lazy_init defers the listing until full_init
    lazy = DATASETS.build(
        _cfg(canvas_root, ann_file='typo.txt', lazy_init=True))
    with pytest.raises(FileNotFoundError, match='typo.txt'):
        lazy.full_init()
