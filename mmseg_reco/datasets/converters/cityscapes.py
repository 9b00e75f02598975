"""Cityscapes train-id labels, optionally downsampled as ReCo uses them.

Input: ``leftImg8bit_trainvaltest.zip`` and ``gtFine_trainvaltest.zip``
extracted into one folder::

    <src>/leftImg8bit/{train,val}/<city>/<name>_leftImg8bit.png
    <src>/gtFine/{train,val}/<city>/<name>_gtFine_labelIds.png

Output (the layout of mmseg's ``CityscapesDataset``)::

    <out>/leftImg8bit/{train,val}/<city>/<name>_leftImg8bit.png
    <out>/gtFine/{train,val}/<city>/<name>_gtFine_labelTrainIds.png

Labels are mapped to the 19 train ids (255 = void). ReCo (arXiv
2104.04465, appendix A) downsamples every image to 512x1024 before use
(images with Pillow's bicubic filter, labels nearest, as the authors'
preprocessing); that is the default ``size=(1024, 512)``. ``size=None``
keeps the full resolution; with ``out`` equal to ``src`` only the label
files are added (as mmseg's converter does).

Command line: ``tools/convert_cityscapes.py``.
"""
import os
import os.path as osp
import shutil
from functools import partial
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..label_maps import to_train_ids
from .common import map_items, parse_size

__all__ = ['convert', 'convert_one', 'list_names', 'parse_size']

IMG_SUFFIX = '_leftImg8bit.png'
RAW_SUFFIX = '_gtFine_labelIds.png'
TRAIN_ID_SUFFIX = '_gtFine_labelTrainIds.png'


def list_names(src: str, split: str) -> List[str]:
    """``<city>/<name>`` of every image of a split."""
    img_dir = osp.join(src, 'leftImg8bit', split)
    if not osp.isdir(img_dir):
        raise FileNotFoundError(f'image folder {img_dir!r} does not exist')
    names = []
    for city in sorted(os.listdir(img_dir)):
        city_dir = osp.join(img_dir, city)
        if osp.isdir(city_dir):
            names += [f'{city}/{f[:-len(IMG_SUFFIX)]}'
                      for f in sorted(os.listdir(city_dir))
                      if f.endswith(IMG_SUFFIX)]
    if not names:
        raise ValueError(f'no *{IMG_SUFFIX} image in {img_dir!r}')
    return names


def convert_one(name: str, src: str, out: str, split: str,
                size: Optional[Tuple[int, int]]) -> None:
    """Write the (resized) image and train-id label of one image."""
    from PIL import Image
    img_src = osp.join(src, 'leftImg8bit', split, name + IMG_SUFFIX)
    img_dst = osp.join(out, 'leftImg8bit', split, name + IMG_SUFFIX)
    lbl_src = osp.join(src, 'gtFine', split, name + RAW_SUFFIX)
    lbl_dst = osp.join(out, 'gtFine', split, name + TRAIN_ID_SUFFIX)
    if not osp.isfile(lbl_src):
        raise FileNotFoundError(f'label {lbl_src!r} of image {img_src!r} is '
                                'missing')
    os.makedirs(osp.dirname(img_dst), exist_ok=True)
    os.makedirs(osp.dirname(lbl_dst), exist_ok=True)
    if size is not None:
        with Image.open(img_src) as img:
            img.convert('RGB').resize(size, Image.BICUBIC).save(img_dst)
    elif osp.abspath(img_src) != osp.abspath(img_dst):
        shutil.copyfile(img_src, img_dst)
    with Image.open(lbl_src) as lbl:
        label = np.asarray(lbl)
    label = to_train_ids(label)
    out_lbl = Image.fromarray(label)
    if size is not None:
        out_lbl = out_lbl.resize(size, Image.NEAREST)
    out_lbl.save(lbl_dst)


def convert(src: str, out: str, size: Optional[Tuple[int, int]] = (1024, 512),
            splits: Sequence[str] = ('train', 'val'), nproc: int = 1) -> dict:
    """Convert the splits; returns ``{split: [<city>/<name>, ...]}``."""
    if size is not None and osp.abspath(src) == osp.abspath(out):
        raise ValueError('resizing would overwrite the source images: give '
                         '--out a new folder')
    result = {}
    for split in splits:
        names = list_names(src, split)
        map_items(partial(convert_one, src=src, out=out, split=split,
                          size=size), names, nproc)
        result[split] = names
    return result
