"""SUN RGB-D (37 classes) in ReCo's re-split and resolution.

Input: the 37-class SUN RGB-D release (``SUNRGBD-train_images.tgz``,
``SUNRGBD-test_images.tgz``, ``sunrgbd_train_test_labels.tar.gz``,
extracted into one folder) and ReCo's list of the 475 validation images
(``dataset/sun/test_idx.txt`` of github.com/lorenmt/reco, one test-image
number per line)::

    <src>/SUNRGBD-train_images/img-<k>.jpg       k = 1..5285
    <src>/SUNRGBD-test_images/img-<k>.jpg        k = 1..5050
    <src>/sunrgbd_train_test_labels/img-<k>.png  k = 1..5050 test,
                                                 5051..10335 train
                                                 (0 = void, 1..37 classes)

ReCo (arXiv 2104.04465, appendix A): train image ``k`` is label
``k + 5050``; the test images outside the validation list join the
training set (5285 + 4575 = 9860 train, 475 val); images (Pillow bicubic)
and labels (nearest) are rescaled to 384x512. Output (read by
``SUNRGBDDataset``)::

    <out>/img_dir/{train,val}/img-<6 digits>.jpg
    <out>/ann_dir/{train,val}/img-<6 digits>.png     (label values kept)
    <out>/splits/{train,val}.txt

Command line: ``tools/convert_sunrgbd.py``.
"""
import os
import os.path as osp
import re
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple

from .common import map_items, parse_size

__all__ = [
    'TRAIN_OFFSET', 'convert', 'convert_one', 'image_numbers', 'parse_size',
    'plan', 'read_val_list'
]

#: Number of the first training label minus one (labels of the train
#: images follow the 5050 test labels).
TRAIN_OFFSET = 5050
_NAME = re.compile(r'-(\d+)\.[A-Za-z]+$')


def image_numbers(folder: str) -> Dict[int, str]:
    """``{k: path}`` of the ``img-<k>.jpg`` files of a folder."""
    if not osp.isdir(folder):
        raise FileNotFoundError(f'folder {folder!r} does not exist')
    found = {}
    for name in os.listdir(folder):
        match = _NAME.search(name)
        if match and name.lower().endswith('.jpg'):
            found[int(match.group(1))] = osp.join(folder, name)
    if not found:
        raise ValueError(f'no img-<number>.jpg image in {folder!r}')
    return found


def read_val_list(path: str) -> List[int]:
    """The test-image numbers of ReCo's ``test_idx.txt``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'validation list {path!r} does not exist')
    with open(path) as f:
        values = [line.strip() for line in f if line.strip()]
    try:
        return [int(v) for v in values]
    except ValueError:
        raise ValueError(f'validation list {path!r} must hold one image '
                         'number per line') from None


def plan(src: str, val_list: Sequence[int],
         train_offset: int = TRAIN_OFFSET) -> Dict[str, List[Tuple]]:
    """``{split: [(number, image path, label path), ...]}``, sorted."""
    train = image_numbers(osp.join(src, 'SUNRGBD-train_images'))
    test = image_numbers(osp.join(src, 'SUNRGBD-test_images'))
    label_dir = osp.join(src, 'sunrgbd_train_test_labels')
    unknown = sorted(set(val_list) - set(test))
    if unknown:
        raise ValueError(f'the validation list names {len(unknown)} test '
                         f'image(s) that do not exist: {unknown[:5]}')
    val = set(val_list)
    items = dict(train=[], val=[])
    for k, path in train.items():
        items['train'].append((k + train_offset, path))
    for k, path in test.items():
        items['val' if k in val else 'train'].append((k, path))
    out = {}
    for split, pairs in items.items():
        rows = []
        for number, path in sorted(pairs):
            label = osp.join(label_dir, f'img-{number:06d}.png')
            if not osp.isfile(label):
                raise FileNotFoundError(f'label {label!r} of image {path!r} '
                                        'does not exist')
            rows.append((number, path, label))
        out[split] = rows
    return out


def convert_one(row: Tuple[int, str, str], out: str, split: str,
                size: Optional[Tuple[int, int]]) -> str:
    """Write one (resized) image and label; returns its stem."""
    from PIL import Image
    number, img_path, label_path = row
    stem = f'img-{number:06d}'
    with Image.open(img_path) as img:
        img = img.convert('RGB')
        if size is not None:
            img = img.resize(size, Image.BICUBIC)
        img.save(osp.join(out, 'img_dir', split, stem + '.jpg'))
    with Image.open(label_path) as label:
        if size is not None:
            label = label.resize(size, Image.NEAREST)
        label.save(osp.join(out, 'ann_dir', split, stem + '.png'))
    return stem


def convert(src: str, val_list: Sequence[int], out: str,
            size: Optional[Tuple[int, int]] = (512, 384),
            train_offset: int = TRAIN_OFFSET, nproc: int = 1) -> dict:
    """Write the layout above; returns ``{split: [stems]}``."""
    rows = plan(src, val_list, train_offset)
    result = {}
    for split, items in rows.items():
        os.makedirs(osp.join(out, 'img_dir', split), exist_ok=True)
        os.makedirs(osp.join(out, 'ann_dir', split), exist_ok=True)
        stems = map_items(partial(convert_one, out=out, split=split,
                                  size=size), items, nproc)
        os.makedirs(osp.join(out, 'splits'), exist_ok=True)
        with open(osp.join(out, 'splits', f'{split}.txt'), 'w') as f:
            f.write(''.join(stem + '\n' for stem in stems))
        result[split] = stems
    return result
