"""GTA5 labels mapped to the 19 Cityscapes train ids.

Input: the GTA5 download (``images`` and ``labels`` zips, extracted)::

    <src>/images/<5 digits>.png
    <src>/labels/<5 digits>.png        (palette PNGs of Cityscapes label ids)

Output::

    <out>/images/<5 digits>.png                 (copied or resized; nothing
                                                 is written when <out> is
                                                 <src> and no size)
    <out>/labels/<5 digits>_labelTrainIds.png   (19 train ids, 255 = void)
    <out>/splits/train.txt                      (every image, 24966)

A few GTA5 labels do not have their image's size; they are resized
(nearest) to it, and :func:`convert` returns their names. ``size=(1280,
720)`` (width, height) downsamples images (bicubic) and labels (nearest).

Command line: ``tools/convert_gta5.py``.
"""
import os
import os.path as osp
import shutil
from functools import partial
from typing import Optional, Tuple

import numpy as np

from ..label_maps import to_train_ids
from .common import map_items, parse_size

__all__ = ['convert', 'convert_one', 'parse_size']

TRAIN_ID_SUFFIX = '_labelTrainIds.png'


def convert_one(stem: str, src: str, out: str,
                size: Optional[Tuple[int, int]]) -> bool:
    """Write one image's train-id label (and image); True when the raw
    label had to be resized to its image."""
    from PIL import Image
    img_src = osp.join(src, 'images', stem + '.png')
    lbl_src = osp.join(src, 'labels', stem + '.png')
    if not osp.isfile(lbl_src):
        raise FileNotFoundError(f'label {lbl_src!r} of image {img_src!r} is '
                                'missing')
    with Image.open(img_src) as img:
        img_size = img.size
        if size is not None:
            img.convert('RGB').resize(size, Image.BICUBIC).save(
                osp.join(out, 'images', stem + '.png'))
    if size is None and osp.abspath(src) != osp.abspath(out):
        shutil.copyfile(img_src, osp.join(out, 'images', stem + '.png'))
    with Image.open(lbl_src) as lbl:
        label = Image.fromarray(to_train_ids(np.asarray(lbl)))
    mismatch = label.size != img_size
    if mismatch:
        label = label.resize(img_size, Image.NEAREST)
    if size is not None:
        label = label.resize(size, Image.NEAREST)
    label.save(osp.join(out, 'labels', stem + TRAIN_ID_SUFFIX))
    return mismatch


def convert(src: str, out: Optional[str] = None,
            size: Optional[Tuple[int, int]] = None, nproc: int = 1) -> dict:
    """Convert every GTA5 image; returns ``stems`` and ``resized_labels``."""
    out = out or src
    if size is not None and osp.abspath(src) == osp.abspath(out):
        raise ValueError('resizing would overwrite the source images: give '
                         '--out a new folder')
    img_dir = osp.join(src, 'images')
    if not osp.isdir(img_dir):
        raise FileNotFoundError(f'image folder {img_dir!r} does not exist')
    stems = sorted(f[:-4] for f in os.listdir(img_dir) if f.endswith('.png'))
    if not stems:
        raise ValueError(f'no .png image in {img_dir!r}')
    os.makedirs(osp.join(out, 'images'), exist_ok=True)
    os.makedirs(osp.join(out, 'labels'), exist_ok=True)
    resized = map_items(partial(convert_one, src=src, out=out, size=size),
                        stems, nproc)
    os.makedirs(osp.join(out, 'splits'), exist_ok=True)
    with open(osp.join(out, 'splits', 'train.txt'), 'w') as f:
        f.write(''.join(stem + '\n' for stem in stems))
    return dict(stems=stems,
                resized_labels=[s for s, r in zip(stems, resized) if r])
