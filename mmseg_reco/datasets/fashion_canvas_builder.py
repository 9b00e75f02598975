"""The offline demo dataset: Fashion-MNIST items composed on canvases.

Each canvas (64x64 RGB by default) holds 2-4 Fashion-MNIST items, rescaled
by a random factor (0.8-1.6x by default, bilinear), tinted with a random
colour and placed at random positions on a dark, lightly noisy background.
Items may overlap and later items lie on top: wherever an item's (rescaled,
uint8) pixel is above ``fg_threshold`` (default 24, alpha > 0.094) it
hides the items below, and the canvas shows its tint blended over the
background with the grey value as alpha. The label map holds ``class + 1``
of that top-most item there and 0 (background) elsewhere, so every label
matches what is visible, giving 11 classes::

    0 background, 1 T-shirt/top, 2 Trouser, 3 Pullover, 4 Dress, 5 Coat,
    6 Sandal, 7 Shirt, 8 Sneaker, 9 Bag, 10 Ankle boot

Train canvases use only the Fashion-MNIST *train* images and val canvases
only the *t10k* test images, so a backbone pre-trained on the train images
never sees a val item.

Output (mmseg folder layout)::

    <out>/img_dir/{train,val}/<stem>.png   RGB canvases
    <out>/ann_dir/{train,val}/<stem>.png   uint8 label maps, same stem
    <out>/splits/{train,val}.txt           one stem per line
    <out>/meta.json                        the settings it was built with

The build is deterministic given ``seed`` and is skipped when the output
folder already holds a dataset built with the same settings (``force``
rebuilds). The source files come from the Debian package
``dataset-fashion-mnist``. Pure numpy; ``tools/prepare_demo.py`` is the
command line.
"""
import gzip
import json
import os
import os.path as osp
import shutil
import time
from typing import Dict, Optional, Tuple

import numpy as np

#: Debian package that provides the Fashion-MNIST idx files.
DEBIAN_PACKAGE = 'dataset-fashion-mnist'
#: Where ``dataset-fashion-mnist`` installs the idx files.
DEFAULT_SOURCE = '/usr/share/datasets/fashion-mnist'
SOURCE_FILES = {
    'train': ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
    'val': ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
}
#: Fashion-MNIST class names, index = Fashion-MNIST label.
FASHION_MNIST_CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress',
                         'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag',
                         'Ankle boot')
#: Canvas classes: background (label 0) then the Fashion-MNIST classes.
CANVAS_CLASSES = ('background', ) + FASHION_MNIST_CLASSES
#: An item pixel is drawn and labelled where its resized grey value is above
#: this. At 0 (the first builds), 10.5% of the labelled item pixels differed
#: from the background by fewer than 8 grey levels (the background noise has
#: a std of up to 8): labels of pixels no one could see. At 24 (alpha above
#: 0.094) none does; 15% of those pixels become background.
DEFAULT_FG_THRESHOLD = 24
#: Bumped whenever the generation procedure changes the produced pixels.
FORMAT_VERSION = 1
#: Canvases composed at once (bounds memory). Part of the seeding scheme:
#: changing it changes the generated data, hence FORMAT_VERSION.
_CHUNK = 256
_SPLIT_KEYS = {'train': 0, 'val': 1}


def load_idx(path: str) -> np.ndarray:
    """Read a gzipped idx file (the MNIST format) holding unsigned bytes.

    Args:
        path (str): Path of an ``*-idx{1,3}-ubyte.gz`` file.

    Returns:
        np.ndarray: uint8 array, (M, 28, 28) for images or (M,) for labels.
    """
    with gzip.open(path, 'rb') as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f'{path} is not an unsigned-byte idx file')
    ndim = data[3]
    dims = tuple(
        int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(data) - offset != int(np.prod(dims)):
        raise ValueError(f'{path}: header says {dims} but holds '
                         f'{len(data) - offset} bytes')
    return np.frombuffer(data, np.uint8, offset=offset).reshape(dims)


def load_fashion_mnist(source: str = DEFAULT_SOURCE
                       ) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """Load the Fashion-MNIST train and t10k sets.

    Args:
        source (str): Folder holding the four idx ``.gz`` files.
            Default: where Debian's ``dataset-fashion-mnist`` puts them.

    Returns:
        dict: ``{'train': (images, labels), 'val': (images, labels)}`` with
        images (M, 28, 28) uint8 and labels (M,) uint8; ``'val'`` holds the
        t10k test set.

    Raises:
        FileNotFoundError: A file is missing; the message names the Debian
            package to install.
    """
    missing = [
        osp.join(source, name) for names in SOURCE_FILES.values()
        for name in names if not osp.isfile(osp.join(source, name))
    ]
    if missing:
        raise FileNotFoundError(
            'Fashion-MNIST files not found: ' + ', '.join(missing) +
            f'. Install the Debian package {DEBIAN_PACKAGE!r} '
            f'(apt-get install {DEBIAN_PACKAGE}) or pass --source with a '
            'folder holding the idx .gz files.')
    out = {}
    for split, (img_name, lbl_name) in SOURCE_FILES.items():
        images = load_idx(osp.join(source, img_name))
        labels = load_idx(osp.join(source, lbl_name))
        if images.ndim != 3 or labels.shape != images.shape[:1]:
            raise ValueError(f'{source}: {img_name} {images.shape} does not '
                             f'match {lbl_name} {labels.shape}')
        out[split] = (images, labels)
    return out


def sample_sources(num_pool: int,
                   num_canvases: int,
                   rng: np.random.Generator,
                   num_items: Tuple[int, int] = (2, 4)) -> np.ndarray:
    """Choose which pool images go on which canvas.

    Images are drawn without replacement while the pool is large enough.

    Args:
        num_pool (int): Number of images in the source pool (M).
        num_canvases (int): Number of canvases (N).
        rng (np.random.Generator): Random generator.
        num_items (tuple[int, int]): Inclusive range of items per canvas.
            Default: (2, 4).

    Returns:
        np.ndarray: (N, K) int64 pool indices with K = ``num_items[1]``;
        -1 marks an empty slot. Slots are filled from the left.
    """
    lo, hi = num_items
    assert 1 <= lo <= hi, f'invalid num_items {num_items}'
    counts = rng.integers(lo, hi + 1, size=num_canvases)
    total = num_canvases * hi
    src = rng.choice(num_pool, size=total, replace=total > num_pool)
    src = src.reshape(num_canvases, hi).astype(np.int64)
    src[np.arange(hi)[None, :] >= counts[:, None]] = -1
    return src


def _interp_matrix(out_len: int, src_len: int, offset: np.ndarray,
                   size: np.ndarray) -> np.ndarray:
    """Bilinear resampling matrices that place a resized line on a canvas.

    Row ``i`` of matrix ``n`` holds the weights of the source samples for
    canvas position ``i``: the item, resized from ``src_len`` to ``size[n]``
    with cv2's ``INTER_LINEAR`` convention (half-pixel centres, edge
    replication), starts at ``offset[n]``; positions outside it are zero.

    Args:
        out_len (int): Canvas length (H or W).
        src_len (int): Item length before resizing (h or w).
        offset (np.ndarray): (N,) start of the item on the canvas.
        size (np.ndarray): (N,) length of the resized item.

    Returns:
        np.ndarray: (N, out_len, src_len) float32 weights.
    """
    pos = np.arange(out_len)[None, :] - offset[:, None]  # (N, out_len)
    inside = (pos >= 0) & (pos < size[:, None])
    coord = (pos + 0.5) * (src_len / size[:, None]) - 0.5
    coord = np.clip(coord, 0, src_len - 1)
    weight = np.maximum(0.0, 1.0 - np.abs(coord[..., None] -
                                          np.arange(src_len)))
    return (weight * inside[..., None]).astype(np.float32)


def compose_canvases(items: np.ndarray,
                     classes: np.ndarray,
                     rng: np.random.Generator,
                     canvas_size: int = 64,
                     scale_range: Tuple[float, float] = (0.8, 1.6),
                     bg_max: int = 40,
                     noise_std_max: float = 8.0,
                     tint_min: int = 64,
                     fg_threshold: int = DEFAULT_FG_THRESHOLD,
                     return_layers: bool = False) -> Dict[str, np.ndarray]:
    """Compose grey items into tinted RGB canvases and their label maps.

    Vectorised over canvases and pixels; the only loop runs over the K item
    slots, in order, so that later items lie on top. Where an item's pixel is
    foreground it hides the items below: the canvas there is the item's tint
    blended over the background with alpha = grey value / 255.

    Args:
        items (np.ndarray): (N, K, h, w) uint8 grey items.
        classes (np.ndarray): (N, K) int item classes in [0, 10); -1 marks an
            empty slot (its item is ignored).
        rng (np.random.Generator): Random generator for placement, scale,
            tint and background.
        canvas_size (int): Canvas height and width (H = W). Default: 64.
        scale_range (tuple[float, float]): Range of the uniform random
            rescale factor of each item. Default: (0.8, 1.6).
        bg_max (int): Background colour channels are uniform in
            [0, bg_max]. Default: 40 (dark).
        noise_std_max (float): Per-canvas Gaussian background noise std is
            uniform in [0, noise_std_max] (grey levels). Default: 8.0.
        tint_min (int): Tint colour channels are uniform in
            [tint_min, 255]. Default: 64.
        fg_threshold (int): An item pixel is foreground (drawn and
            labelled) where its resized uint8 value is > fg_threshold; the
            fainter pixels are not drawn. Default: 24
            (:data:`DEFAULT_FG_THRESHOLD`).
        return_layers (bool): Also return the placed uint8 item layers.
            Default: False.

    Returns:
        dict: ``img`` (N, H, W, 3) uint8 RGB, ``seg`` (N, H, W) uint8 labels
        in [0, 10] (0 = background, c + 1 = class c), and with
        ``return_layers`` ``layers`` (N, K, H, W) uint8 resized items on the
        canvas (0 outside the item and for empty slots).
    """
    num, slots, h, w = items.shape
    assert classes.shape == (num, slots), (classes.shape, items.shape)
    lo, hi = scale_range
    assert 0 < lo <= hi, f'invalid scale_range {scale_range}'
    assert round(max(h, w) * hi) <= canvas_size, (
        f'items of {h}x{w} scaled by {hi} do not fit a {canvas_size} canvas')
    size_hw = canvas_size
    scale = rng.uniform(lo, hi, size=(num, slots))
    size_y = np.clip(np.rint(h * scale), 1, size_hw).astype(np.int64)
    size_x = np.clip(np.rint(w * scale), 1, size_hw).astype(np.int64)
    top = (rng.random((num, slots)) * (size_hw - size_y + 1)).astype(np.int64)
    left = (rng.random((num, slots)) * (size_hw - size_x + 1)).astype(np.int64)
    tint = rng.integers(tint_min, 256, size=(num, slots, 3)).astype(np.float32)
    bg = rng.integers(0, bg_max + 1, size=(num, 1, 1, 3)).astype(np.float32)
    noise_std = rng.uniform(0, noise_std_max, size=(num, 1, 1, 1))
    noise = rng.standard_normal((num, size_hw, size_hw, 3), dtype=np.float32)
    background = bg + noise * noise_std.astype(np.float32)
    canvas = background
    seg = np.zeros((num, size_hw, size_hw), np.uint8)
    valid = classes >= 0
    layers = []
    for k in range(slots):
        rows = _interp_matrix(size_hw, h, top[:, k], size_y[:, k])
        cols = _interp_matrix(size_hw, w, left[:, k], size_x[:, k])
        layer = rows @ items[:, k].astype(np.float32) @ cols.transpose(0, 2, 1)
        layer = np.clip(np.rint(layer), 0, 255) * valid[:, k, None, None]
        alpha = (layer / 255.0)[..., None]
        fg = layer > fg_threshold
        item = background * (1 - alpha) + tint[:, k, None, None, :] * alpha
        canvas = np.where(fg[..., None], item, canvas)
        label = (classes[:, k] + 1).astype(np.uint8)[:, None, None]
        seg = np.where(fg, label, seg)
        if return_layers:
            layers.append(layer.astype(np.uint8))
    out = dict(img=np.clip(np.rint(canvas), 0, 255).astype(np.uint8), seg=seg)
    if return_layers:
        out['layers'] = np.stack(layers, axis=1)
    return out


def _imwrite(path: str, array: np.ndarray) -> None:
    """Write an RGB (H, W, 3) or label (H, W) uint8 array as PNG."""
    import cv2
    if array.ndim == 3:
        array = np.ascontiguousarray(array[..., ::-1])  # RGB -> BGR
    if not cv2.imwrite(path, array):
        raise OSError(f'could not write {path}')


def build_split(out_dir: str,
                split: str,
                images: np.ndarray,
                labels: np.ndarray,
                num_canvases: int,
                seed: int = 0,
                num_items: Tuple[int, int] = (2, 4),
                **compose_kwargs) -> Dict[str, np.ndarray]:
    """Compose and write the canvases of one split.

    Args:
        out_dir (str): Dataset root; writes ``img_dir/<split>``,
            ``ann_dir/<split>`` and ``splits/<split>.txt``.
        split (str): ``'train'`` or ``'val'`` (part of the seeding and of
            the file stems ``<split>_00000``).
        images (np.ndarray): (M, h, w) uint8 source pool.
        labels (np.ndarray): (M,) source class labels in [0, 10).
        num_canvases (int): Number of canvases to write (N).
        seed (int): Base seed. Default: 0.
        num_items (tuple[int, int]): Inclusive range of items per canvas.
            Default: (2, 4).
        **compose_kwargs: Passed to :func:`compose_canvases`.

    Returns:
        dict: ``stems`` list of N str, ``sources`` (N, K) pool indices (-1 =
        empty slot), ``pixel_counts`` (11,) label histogram and
        ``item_counts`` (10,) items per class.
    """
    split_key = _SPLIT_KEYS[split]
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(
        split_key, 0)))
    sources = sample_sources(len(images), num_canvases, rng, num_items)
    img_dir = osp.join(out_dir, 'img_dir', split)
    ann_dir = osp.join(out_dir, 'ann_dir', split)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    stems = [f'{split}_{i:05d}' for i in range(num_canvases)]
    pixel_counts = np.zeros(len(CANVAS_CLASSES), np.int64)
    for chunk, start in enumerate(range(0, num_canvases, _CHUNK)):
        src = sources[start:start + _CHUNK]
        chunk_rng = np.random.default_rng(np.random.SeedSequence(
            seed, spawn_key=(split_key, chunk + 1)))
        classes = np.where(src >= 0, labels[src].astype(np.int64), -1)
        out = compose_canvases(images[np.maximum(src, 0)], classes,
                               chunk_rng, **compose_kwargs)
        pixel_counts += np.bincount(
            out['seg'].ravel(), minlength=len(CANVAS_CLASSES))
        for i, (img, seg) in enumerate(zip(out['img'], out['seg'])):
            stem = stems[start + i]
            _imwrite(osp.join(img_dir, stem + '.png'), img)
            _imwrite(osp.join(ann_dir, stem + '.png'), seg)
    os.makedirs(osp.join(out_dir, 'splits'), exist_ok=True)
    with open(osp.join(out_dir, 'splits', f'{split}.txt'), 'w') as f:
        f.write(''.join(stem + '\n' for stem in stems))
    used = sources[sources >= 0]
    item_counts = np.bincount(
        labels[used], minlength=len(FASHION_MNIST_CLASSES))
    return dict(stems=stems, sources=sources, pixel_counts=pixel_counts,
                item_counts=item_counts)


def build_demo(out_dir: str = 'data/fashion_canvas',
               seed: int = 0,
               num_train: int = 2000,
               num_val: int = 300,
               canvas_size: int = 64,
               num_items: Tuple[int, int] = (2, 4),
               scale_range: Tuple[float, float] = (0.8, 1.6),
               bg_max: int = 40,
               noise_std_max: float = 8.0,
               tint_min: int = 64,
               fg_threshold: int = DEFAULT_FG_THRESHOLD,
               source: str = DEFAULT_SOURCE,
               force: bool = False,
               data: Optional[Dict[str, Tuple[np.ndarray, np.ndarray]]] = None,
               verbose: bool = True) -> dict:
    """Build the Fashion-MNIST canvas dataset (idempotent).

    Args:
        out_dir (str): Output root. Default: 'data/fashion_canvas'.
        seed (int): Seed of the whole build. Default: 0.
        num_train (int): Train canvases (from Fashion-MNIST train images
            only). Default: 2000.
        num_val (int): Val canvases (from t10k test images only).
            Default: 300.
        canvas_size (int): Canvas height and width. Default: 64.
        num_items (tuple[int, int]): Inclusive range of items per canvas.
            Default: (2, 4).
        scale_range (tuple[float, float]): Item rescale factor range.
            Default: (0.8, 1.6).
        bg_max (int): Maximum background channel value. Default: 40.
        noise_std_max (float): Maximum background noise std. Default: 8.0.
        tint_min (int): Minimum tint channel value. Default: 64.
        fg_threshold (int): Item pixels > fg_threshold are drawn and
            labelled. Default: :data:`DEFAULT_FG_THRESHOLD`.
            Default: 0.
        source (str): Folder of the Fashion-MNIST idx files. Default: the
            ``dataset-fashion-mnist`` package folder.
        force (bool): Rebuild even when ``out_dir`` holds the same build.
            Default: False.
        data (dict, optional): Pre-loaded ``{'train': (images, labels),
            'val': (images, labels)}`` replacing the files in ``source``.
        verbose (bool): Print the summary. Default: True.

    Returns:
        dict: The settings (``meta``), ``skipped`` (bool) and, when built,
        per-split ``stems``, ``sources``, ``pixel_counts``, ``item_counts``
        and ``seconds``.

    Raises:
        FileNotFoundError: The Fashion-MNIST files are missing.
        FileExistsError: ``out_dir`` holds a build with other settings and
            ``force`` is False.
    """
    meta = dict(
        format_version=FORMAT_VERSION,
        seed=int(seed),
        num_train=int(num_train),
        num_val=int(num_val),
        canvas_size=int(canvas_size),
        num_items=[int(v) for v in num_items],
        scale_range=[float(v) for v in scale_range],
        bg_max=int(bg_max),
        noise_std_max=float(noise_std_max),
        tint_min=int(tint_min),
        fg_threshold=int(fg_threshold),
        classes=list(CANVAS_CLASSES))
    meta_path = osp.join(out_dir, 'meta.json')
    if osp.isfile(meta_path) and not force:
        with open(meta_path) as f:
            old = json.load(f)
        if old == meta:
            if verbose:
                print(f'{out_dir} is up to date (same settings in '
                      f'{meta_path}); pass --force to rebuild')
            return dict(meta=meta, skipped=True)
        diff = sorted(k for k in set(old) | set(meta)
                      if old.get(k) != meta.get(k))
        raise FileExistsError(
            f'{out_dir} was built with other settings (differing: '
            f'{", ".join(diff)}); pass --force to rebuild it or choose '
            'another --out')
    start = time.perf_counter()
    if data is None:
        data = load_fashion_mnist(source)
    for name in ('img_dir', 'ann_dir', 'splits', 'meta.json'):
        path = osp.join(out_dir, name)
        if osp.isdir(path):
            shutil.rmtree(path)
        elif osp.exists(path):
            os.remove(path)
    compose_kwargs = dict(
        canvas_size=canvas_size, scale_range=tuple(scale_range),
        bg_max=bg_max, noise_std_max=noise_std_max, tint_min=tint_min,
        fg_threshold=fg_threshold)
    result = dict(meta=meta, skipped=False)
    for split, num in (('train', num_train), ('val', num_val)):
        images, labels = data[split]
        result[split] = build_split(out_dir, split, images, labels, num,
                                    seed=seed, num_items=tuple(num_items),
                                    **compose_kwargs)
    os.makedirs(out_dir, exist_ok=True)
    with open(meta_path, 'w') as f:
        json.dump(meta, f, indent=2)
    result['seconds'] = time.perf_counter() - start
    if verbose:
        print(format_summary(result, out_dir))
    return result


def format_summary(result: dict, out_dir: str) -> str:
    """Format counts and class pixel frequencies of a build as a table."""
    lines = [f'Fashion-MNIST canvases in {out_dir} '
             f'({result["seconds"]:.1f} s)']
    for split in ('train', 'val'):
        info = result[split]
        items = int(info['item_counts'].sum())
        lines.append(f'  {split}: {len(info["stems"])} canvases, {items} '
                     'items')
    lines.append(f'  {"class":<14}{"train px %":>11}{"val px %":>10}'
                 f'{"train items":>13}{"val items":>11}')
    freq = {
        split: 100.0 * result[split]['pixel_counts'] /
        max(1, result[split]['pixel_counts'].sum())
        for split in ('train', 'val')
    }
    for c, name in enumerate(CANVAS_CLASSES):
        items = [
            '-' if c == 0 else str(result[s]['item_counts'][c - 1])
            for s in ('train', 'val')
        ]
        lines.append(f'  {c:>2} {name:<11}{freq["train"][c]:>11.2f}'
                     f'{freq["val"][c]:>10.2f}{items[0]:>13}{items[1]:>11}')
    return '\n'.join(lines)
