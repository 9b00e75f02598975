"""Merge the SBD augmented labels into Pascal VOC 2012 (the 10582-image set).

Input: the VOC 2012 devkit (``VOCtrainval_11-May-2012.tar``) and the SBD
release (``benchmark.tgz``, folder ``benchmark_RELEASE``)::

    <devkit>/VOC2012/JPEGImages/<id>.jpg
    <devkit>/VOC2012/SegmentationClass/<id>.png        (palette PNGs)
    <devkit>/VOC2012/ImageSets/Segmentation/{train,val}.txt
    <sbd>/dataset/cls/<id>.mat                          (GTcls.Segmentation)
    <sbd>/dataset/{train,val}.txt

Output, in ``<devkit>/VOC2012``::

    SegmentationClassAug/<id>.png     uint8 class ids (0..20, 255 = ignore):
                                      the SBD label, or the VOC 2012 label
                                      for the VOC train and val images
    ImageSets/Segmentation/train_aug.txt   VOC train + SBD train + SBD val,
                                           minus VOC val (10582 images)
    ImageSets/Segmentation/aug.txt         train_aug minus VOC train (9118)

A single label folder lets one split file select any subset of the 10582
images (mmseg's own converter keeps the VOC train labels apart and needs a
``ConcatDataset``). The validation set stays ``val.txt`` with
``SegmentationClass``.

Command line: ``tools/convert_voc_aug.py``.
"""
import os
import os.path as osp
from functools import partial
from typing import List, Optional

import numpy as np

from .common import map_items

__all__ = ['AUG_LEN', 'convert', 'convert_mat', 'convert_voc', 'read_list']

#: Size of the augmented training set (VOC train + SBD train/val - VOC val).
AUG_LEN = 10582


def read_list(path: str) -> List[str]:
    """Ids of a list file, one per line (blank lines skipped)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'list {path!r} does not exist')
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def _write_png(path: str, label: np.ndarray) -> None:
    import cv2
    if not cv2.imwrite(path, label.astype(np.uint8)):
        raise OSError(f'could not write {path}')


def convert_mat(name: str, in_dir: str, out_dir: str) -> None:
    """SBD ``<name>.mat`` -> ``<out_dir>/<name>.png`` (class ids)."""
    from scipy.io import loadmat
    data = loadmat(osp.join(in_dir, name + '.mat'))
    label = np.asarray(data['GTcls'][0]['Segmentation'][0])
    _write_png(osp.join(out_dir, name + '.png'), label)


def convert_voc(name: str, in_dir: str, out_dir: str) -> None:
    """VOC palette PNG -> plain uint8 PNG of its palette indices."""
    from PIL import Image
    with Image.open(osp.join(in_dir, name + '.png')) as img:
        label = np.asarray(img)
    if label.ndim != 2:
        raise ValueError(f'{osp.join(in_dir, name + ".png")} is not a '
                         'palette/grey label image')
    _write_png(osp.join(out_dir, name + '.png'), label)


def convert(devkit: str, sbd: str, nproc: int = 1,
            expected: Optional[int] = AUG_LEN) -> dict:
    """Write ``SegmentationClassAug`` and the list files (see module doc).

    Args:
        devkit (str): The ``VOCdevkit`` folder.
        sbd (str): The ``benchmark_RELEASE`` folder.
        nproc (int): Worker processes. Default: 1.
        expected (int, optional): Required size of ``train_aug``; None
            skips the check (tests). Default: 10582.

    Returns:
        dict: ``train_aug``, ``aug`` (id lists), ``num_sbd``, ``num_voc``.

    Raises:
        FileNotFoundError: An input folder, list, label or image is missing.
        ValueError: ``train_aug`` does not hold ``expected`` images.
    """
    voc = osp.join(devkit, 'VOC2012')
    sets = osp.join(voc, 'ImageSets', 'Segmentation')
    voc_train = read_list(osp.join(sets, 'train.txt'))
    voc_val = read_list(osp.join(sets, 'val.txt'))
    sbd_dir = osp.join(sbd, 'dataset')
    sbd_ids = sorted(set(read_list(osp.join(sbd_dir, 'train.txt')) +
                         read_list(osp.join(sbd_dir, 'val.txt'))))
    mat_dir = osp.join(sbd_dir, 'cls')
    missing = [i for i in sbd_ids
               if not osp.isfile(osp.join(mat_dir, i + '.mat'))]
    if missing:
        raise FileNotFoundError(f'{len(missing)} SBD label(s) listed in '
                                f'{sbd_dir}/{{train,val}}.txt are missing '
                                f'from {mat_dir}: {missing[:5]}')
    voc_ids = sorted(set(voc_train) | set(voc_val))
    seg_dir = osp.join(voc, 'SegmentationClass')
    missing = [i for i in voc_ids
               if not osp.isfile(osp.join(seg_dir, i + '.png'))]
    if missing:
        raise FileNotFoundError(f'{len(missing)} VOC label(s) are missing '
                                f'from {seg_dir}: {missing[:5]}')
    val = set(voc_val)
    train_aug = sorted((set(voc_train) | set(sbd_ids)) - val)
    if expected is not None and len(train_aug) != expected:
        raise ValueError(f'train_aug holds {len(train_aug)} images, expected '
                         f'{expected}: check the VOC and SBD lists')
    img_dir = osp.join(voc, 'JPEGImages')
    missing = [i for i in train_aug + voc_val
               if not osp.isfile(osp.join(img_dir, i + '.jpg'))]
    if missing:
        raise FileNotFoundError(f'{len(missing)} image(s) missing from '
                                f'{img_dir}: {missing[:5]}')
    out_dir = osp.join(voc, 'SegmentationClassAug')
    os.makedirs(out_dir, exist_ok=True)
    # SBD first, then the VOC labels overwrite the images both label
    sbd_only = [i for i in sbd_ids if i not in set(voc_ids)]
    map_items(partial(convert_mat, in_dir=mat_dir, out_dir=out_dir),
              sbd_only, nproc)
    map_items(partial(convert_voc, in_dir=seg_dir, out_dir=out_dir),
              voc_ids, nproc)
    aug = [i for i in train_aug if i not in set(voc_train)]
    for name, ids in (('train_aug.txt', train_aug), ('aug.txt', aug)):
        with open(osp.join(sets, name), 'w') as f:
            f.write(''.join(i + '\n' for i in ids))
    return dict(train_aug=train_aug, aug=aug, num_sbd=len(sbd_only),
                num_voc=len(voc_ids))
