import gzip
import json
import os.path as osp

import numpy as np
import pytest

from mmseg_reco.datasets import fashion_canvas_builder as pd
from repo_scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))




def _pools(num_train=40, num_val=20, seed=0):
    """Synthetic Fashion-MNIST-like pools: blobs with a zero border.

    Train items only have classes 0-4 and val items only 5-9, so a canvas
    label tells which pool its items came from.
    """
    rng = np.random.default_rng(seed)

    def pool(num, classes):
        images = np.zeros((num, 28, 28), np.uint8)
        images[:, 4:24, 6:22] = rng.integers(1, 256, (num, 20, 16))
        return images, rng.choice(classes, num).astype(np.uint8)

    return dict(train=pool(num_train, np.arange(5)),
                val=pool(num_val, np.arange(5, 10)))


def _write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b''.join(
        int(d).to_bytes(4, 'big') for d in array.shape)
    with gzip.open(path, 'wb') as f:
        f.write(header + array.astype(np.uint8).tobytes())


def _read_png(path):
    import cv2
    array = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    return array[..., ::-1] if array.ndim == 3 else array


def _build(out_dir, seed=0, **kwargs):
    kwargs = {**dict(num_train=12, num_val=4, data=_pools(), verbose=False),
              **kwargs}
    return pd.build_demo(out_dir=str(out_dir), seed=seed, **kwargs)


def test_load_idx_roundtrip_and_missing_package(tmp_path):
    pools = _pools()
    for split, (img_name, lbl_name) in pd.SOURCE_FILES.items():
        _write_idx(tmp_path / img_name, pools[split][0])
        _write_idx(tmp_path / lbl_name, pools[split][1])
    data = pd.load_fashion_mnist(str(tmp_path))
    for split in ('train', 'val'):
        np.testing.assert_array_equal(data[split][0], pools[split][0])
        np.testing.assert_array_equal(data[split][1], pools[split][1])

    (tmp_path / 't10k-labels-idx1-ubyte.gz').unlink()
    with pytest.raises(FileNotFoundError, match='dataset-fashion-mnist'):
        pd.load_fashion_mnist(str(tmp_path))
    tool = load_script('tools/prepare_demo.py')
    with pytest.raises(SystemExit, match='dataset-fashion-mnist'):
        tool.main(['--source', str(tmp_path), '--out', str(tmp_path / 'o')])

    with gzip.open(tmp_path / 'bad.gz', 'wb') as f:
        f.write(bytes([0, 0, 0x08, 1, 0, 0, 0, 5, 1, 2]))
    with pytest.raises(ValueError, match='header'):
        pd.load_idx(str(tmp_path / 'bad.gz'))


def test_resampling_matches_cv2_bilinear():
    cv2 = pytest.importorskip('cv2')
    rng = np.random.default_rng(0)
    item = rng.integers(0, 256, (28, 28)).astype(np.uint8)
    for size in (22, 28, 37, 45):
        mat = pd._interp_matrix(size, 28, np.array([0]), np.array([size]))[0]
        ours = np.rint(mat @ item.astype(np.float32) @ mat.T)
        ref = cv2.resize(item, (size, size), interpolation=cv2.INTER_LINEAR)
        assert np.abs(ours - ref).max() <= 1
    # placement: zero outside [offset, offset + size)
    mat = pd._interp_matrix(64, 28, np.array([10]), np.array([30]))[0]
    assert not mat[:10].any() and not mat[40:].any()
    np.testing.assert_allclose(mat[10:40].sum(1), 1, rtol=1e-6)


def test_labels_follow_top_item_pixels():
    pools = _pools()
    rng = np.random.default_rng(1)
    src = pd.sample_sources(len(pools['train'][0]), 16, rng, (2, 4))
    assert set((src >= 0).sum(1)) == {2, 3, 4}
    assert ((src >= 0) == (np.arange(4) < (src >= 0).sum(1, keepdims=True))
            ).all()  # slots filled from the left
    classes = np.where(src >= 0, pools['train'][1][src].astype(int), -1)
    out = pd.compose_canvases(pools['train'][0][np.maximum(src, 0)], classes,
                              rng, canvas_size=64, return_layers=True)
    img, seg, layers = out['img'], out['seg'], out['layers']
    assert img.shape == (16, 64, 64, 3) and img.dtype == np.uint8
    assert seg.shape == (16, 64, 64) and seg.dtype == np.uint8
    assert seg.max() <= 10
    # expected: class + 1 of the last (top-most) item whose pixel is above
    # the foreground threshold
    drawn = layers > pd.DEFAULT_FG_THRESHOLD
    expected = np.zeros_like(seg)
    for k in range(src.shape[1]):
        expected = np.where(drawn[:, k], classes[:, k, None, None] + 1,
                            expected)
    np.testing.assert_array_equal(seg, expected)
    assert ((seg > 0) == drawn.any(1)).all()
    assert not layers[src < 0].any()  # empty slots draw nothing
    assert (seg > 0).mean() > 0.1 and (seg == 0).mean() > 0.1
    # tinted: foreground is coloured, not grey
    fg = img[seg > 0].astype(int)
    assert (np.abs(fg[:, 0] - fg[:, 1]) > 20).mean() > 0.3


def test_top_item_hides_items_below():
    pools = _pools()
    items = pools['train'][0][:16].reshape(8, 2, 28, 28).copy()
    classes = pools['train'][1][:16].reshape(8, 2).astype(int)
    other = items.copy()
    other[:, 0] = 255 - items[:, 0]  # another item below, same draws
    a = pd.compose_canvases(items, classes, np.random.default_rng(3),
                            return_layers=True)
    b = pd.compose_canvases(other, classes, np.random.default_rng(3))
    drawn = a['layers'] > pd.DEFAULT_FG_THRESHOLD
    top = drawn[:, 1]
    assert top.any() and drawn[:, 0][top].any()  # overlaps
    np.testing.assert_array_equal(a['seg'][top], b['seg'][top])
    np.testing.assert_array_equal(a['img'][top], b['img'][top])
    below_only = drawn[:, 0] & ~top
    assert (a['img'][below_only] != b['img'][below_only]).any()


def test_labelled_item_pixels_stand_out_from_the_background():
    """At the default threshold every labelled item pixel differs from
    the background under it by at least 8 grey levels (the background
    noise std is at most 8); at threshold 0 a tenth of them do not."""
    pools = _pools()
    items = pools['train'][0][:30].reshape(10, 3, 28, 28)
    classes = pools['train'][1][:30].reshape(10, 3).astype(int)
    background = pd.compose_canvases(np.zeros_like(items), classes,
                                     np.random.default_rng(5))['img']
    faint = {}
    for threshold in (0, pd.DEFAULT_FG_THRESHOLD):
        out = pd.compose_canvases(items, classes, np.random.default_rng(5),
                                  fg_threshold=threshold)
        contrast = np.abs(out['img'].astype(int) -
                          background.astype(int)).max(-1)
        faint[threshold] = (contrast[out['seg'] > 0] < 8).mean()
    assert faint[pd.DEFAULT_FG_THRESHOLD] == 0
    assert faint[0] > 0.02


def test_threshold_is_configurable():
    pools = _pools()
    items = pools['train'][0][:4, None]
    classes = pools['train'][1][:4, None].astype(int)
    out = pd.compose_canvases(items, classes, np.random.default_rng(0),
                              fg_threshold=128, return_layers=True)
    np.testing.assert_array_equal(out['seg'] > 0, out['layers'][:, 0] > 128)


def test_build_demo_layout_and_determinism(tmp_path):
    res = _build(tmp_path / 'a')
    root = tmp_path / 'a'
    for split, num in (('train', 12), ('val', 4)):
        stems = (root / 'splits' / f'{split}.txt').read_text().split()
        assert stems == res[split]['stems'] and len(stems) == num
        assert sorted(p.stem for p in (root / 'img_dir' / split).iterdir()) \
            == stems
        assert sorted(p.stem for p in (root / 'ann_dir' / split).iterdir()) \
            == stems
        for stem in stems:
            img = _read_png(str(root / 'img_dir' / split / f'{stem}.png'))
            seg = _read_png(str(root / 'ann_dir' / split / f'{stem}.png'))
            assert img.shape == (64, 64, 3) and seg.shape == (64, 64)
            assert seg.dtype == np.uint8 and seg.max() <= 10
        assert res[split]['pixel_counts'].sum() == num * 64 * 64
    meta = json.loads((root / 'meta.json').read_text())
    assert meta['seed'] == 0 and meta['num_train'] == 12
    assert meta['classes'] == list(pd.CANVAS_CLASSES)

    # train canvases only hold train items (classes 0-4 -> labels 1-5),
    # val canvases only test items (classes 5-9 -> labels 6-10)
    train_labels = np.unique(np.stack([
        _read_png(str(root / 'ann_dir' / 'train' / f'{s}.png'))
        for s in res['train']['stems']]))
    val_labels = np.unique(np.stack([
        _read_png(str(root / 'ann_dir' / 'val' / f'{s}.png'))
        for s in res['val']['stems']]))
    assert set(train_labels) <= set(range(0, 6))
    assert set(val_labels) <= {0, 6, 7, 8, 9, 10} and len(val_labels) > 1

    # same seed -> same files; other seed -> other files
    _build(tmp_path / 'b')
    _build(tmp_path / 'c', seed=1)
    for split, stem in (('train', 'train_00007'), ('val', 'val_00003')):
        for sub in ('img_dir', 'ann_dir'):
            a = _read_png(str(root / sub / split / f'{stem}.png'))
            b = _read_png(str(tmp_path / 'b' / sub / split / f'{stem}.png'))
            c = _read_png(str(tmp_path / 'c' / sub / split / f'{stem}.png'))
            np.testing.assert_array_equal(a, b)
            assert not np.array_equal(a, c)


def test_build_demo_is_idempotent(tmp_path):
    _build(tmp_path)
    assert _build(tmp_path)['skipped']
    with pytest.raises(FileExistsError, match='num_val'):
        _build(tmp_path, num_val=5)
    res = _build(tmp_path, num_val=5, force=True)
    assert not res['skipped']
    assert len(list((tmp_path / 'img_dir' / 'val').iterdir())) == 5
    assert _build(tmp_path, num_val=5)['skipped']
    # a failed source load leaves the old build in place
    with pytest.raises(FileNotFoundError, match='dataset-fashion-mnist'):
        pd.build_demo(out_dir=str(tmp_path), num_train=3, num_val=2,
                      source=str(tmp_path / 'nowhere'), force=True,
                      verbose=False)
    assert (tmp_path / 'meta.json').is_file()


@pytest.mark.needs_data(
    osp.join(pd.DEFAULT_SOURCE, 't10k-images-idx3-ubyte.gz'),
    reason='Debian package dataset-fashion-mnist is not installed')
def test_real_fashion_mnist_split_sources():
    data = pd.load_fashion_mnist()
    assert data['train'][0].shape == (60000, 28, 28)
    assert data['val'][0].shape == (10000, 28, 28)
    assert set(np.unique(data['val'][1])) == set(range(10))


def test_dataset_class_loads_canvases(tmp_path):
    pytest.importorskip('mmseg')
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    from mmseg_reco.datasets.fashion_canvas import FashionCanvasDataset
    init_default_scope('mmseg')
    _build(tmp_path)
    assert list(FashionCanvasDataset.METAINFO['classes']) == list(
        pd.CANVAS_CLASSES)
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')
    ]
    dataset = DATASETS.build(
        dict(
            type='FashionCanvasDataset',
            data_root=str(tmp_path),
            data_prefix=dict(
                img_path='img_dir/train', seg_map_path='ann_dir/train'),
            ann_file='splits/train.txt',
            pipeline=pipeline))
    assert isinstance(dataset, FashionCanvasDataset)
    assert len(dataset) == 12
    assert len(dataset.metainfo['classes']) == 11
    assert len(dataset.metainfo['palette']) == 11
    info = dataset.get_data_info(3)
    assert osp.basename(info['img_path']) == 'train_00003.png'
    assert osp.basename(info['seg_map_path']) == 'train_00003.png'
    assert not info['reduce_zero_label'] and info['label_map'] is None
    sample = dataset[3]
    assert tuple(sample['inputs'].shape) == (3, 64, 64)
    gt = sample['data_samples'].gt_sem_seg.data.numpy()[0]
    np.testing.assert_array_equal(
        gt, _read_png(str(tmp_path / 'ann_dir' / 'train' / 'train_00003.png')))

    val = FashionCanvasDataset(
        data_root=str(tmp_path),
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        test_mode=True)
    assert len(val) == 4  # folder listing without ann_file
