"""Refuse label maps with unknown ids, colour channels or another size than
their image."""
import os
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS

#: Label values a uint8 map can hold; larger maps use the generic check.
_UINT8_VALUES = 256


def bad_label_ids(label: np.ndarray, num_classes: int,
                  ignore_index: int) -> np.ndarray:
    """Label values outside ``[0, num_classes)`` other than ``ignore_index``.

    Args:
        label (np.ndarray): (H, W) integer label map.
        num_classes (int): number of classes C.
        ignore_index (int): the label of ignored pixels.

    Returns:
        np.ndarray: the sorted distinct offending values (empty if none).
    """
    if label.dtype == np.uint8:
        # one pass, no sort: a histogram of the 256 possible values
        counts = np.bincount(label.ravel(), minlength=_UINT8_VALUES)
        ids = np.flatnonzero(counts)
    else:
        flat = label.ravel().astype(np.int64)
        outside = (flat != ignore_index) & ((flat < 0) |
                                            (flat >= num_classes))
        ids = np.unique(flat[outside])
    ids = ids.astype(np.int64)
    return ids[((ids < 0) | (ids >= num_classes)) & (ids != ignore_index)]


def colour_mask_message(path: Optional[str], label: np.ndarray) -> str:
    """The error for a label map that has channels: what it is and the fix.

    Args:
        path (str, optional): The label file.
        label (np.ndarray): The label as loaded, (H, W, K) with K channels.

    Returns:
        str: The message; it names ``path``, the shape, and how to convert
        the folder with ``tools/convert_color_masks.py`` (or how to keep one
        channel when all channels are equal).
    """
    shape = 'x'.join(str(n) for n in label.shape)
    folder = os.path.dirname(path) if path else 'LABEL_DIR'
    msg = (f'label {path!r} has {label.shape[-1]} channels ({shape}, height '
           'x width x channels): it is a colour mask, but a label map holds '
           'one class index per pixel (a single-channel PNG, grey or '
           'palette). ')
    if label.ndim == 3 and label.shape[-1] > 1 and \
            (label == label[..., :1]).all():
        return msg + ('Its channels are equal, so its values may already '
                      'be class indices: save one channel, e.g. '
                      "Image.open(path).convert('L').save(path)")
    return msg + ('Convert the folder to index maps with the palette of '
                  f'your config: python tools/convert_color_masks.py '
                  f'{folder} {folder}_index --palette CONFIG, then point '
                  "data_prefix['seg_map_path'] at the new folder")


@TRANSFORMS.register_module()
class CheckSegLabels(BaseTransform):
    """Check a loaded label map against its image and the class list.

    Placed right after ``LoadAnnotations`` (before any resize, crop or pad),
    it raises ``ValueError`` naming the label file when

    - the label has more than one channel: a colour mask (RGB, RGBA) read
      as it is stored, shape (H, W, 3) or (H, W, 4), instead of an index
      map (H, W); the message says how to convert it
      (``tools/convert_color_masks.py``). Left unchecked, the colour axis
      would be cropped and packed as if it were the width, and the batch
      would fail to stack with a message naming neither file nor cause;
    - the label holds an id outside ``[0, num_classes)`` other than
      ``ignore_index`` (the ids are listed). Such ids would be skipped by
      the contrastive losses and the memory bank, miscounted by
      ``IoUMetric`` and crash the cross-entropy only on some devices;
    - the label's height and width differ from the image's (a crop would
      then cut different regions from the two).

    The values checked are those after ``LoadAnnotations``'s ``label_map``
    and ``reduce_zero_label``, i.e. the train ids the model sees. Results
    without ``gt_seg_map`` (unlabelled images) pass unchanged. Cost: one
    histogram of the label (a few milliseconds for 1024 x 2048 uint8), in
    the data-loader workers.

    Required keys: ``img`` (optional), ``gt_seg_map`` (optional),
    ``seg_map_path`` / ``img_path`` (named in the message).

    Args:
        num_classes (int): number of classes C.
        ignore_index (int): the label of ignored pixels. Default: 255.
        check_size (bool): compare the image and label sizes. Default: True.
    """

    def __init__(self,
                 num_classes: int,
                 ignore_index: int = 255,
                 check_size: bool = True) -> None:
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(
                f'num_classes must be a positive integer, got {num_classes}')
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.check_size = check_size

    def transform(self, results: dict) -> Optional[dict]:
        label = results.get('gt_seg_map')
        if label is None:
            return results
        where = results.get('seg_map_path') or results.get('img_path')
        if label.ndim != 2:
            raise ValueError(colour_mask_message(where, label))
        img = results.get('img')
        if self.check_size and img is not None and \
                tuple(img.shape[:2]) != tuple(label.shape[:2]):
            raise ValueError(
                f'label {where!r} is {label.shape[0]}x{label.shape[1]} but '
                f'its image {results.get("img_path")!r} is '
                f'{img.shape[0]}x{img.shape[1]} (height x width); image and '
                'label must have the same size')
        bad = bad_label_ids(np.asarray(label), self.num_classes,
                            self.ignore_index)
        if bad.size:
            extra = ''
            if results.get('reduce_zero_label'):
                extra = ' (after reduce_zero_label)'
            raise ValueError(
                f'label {where!r} holds id(s) {bad.tolist()}{extra} outside '
                f'the {self.num_classes} classes: valid ids are 0..'
                f'{self.num_classes - 1} and {self.ignore_index} (ignore). '
                'Convert the labels to train ids (see tools/convert_*.py) or '
                'fix num_classes / label_map')
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index}, '
                f'check_size={self.check_size})')
