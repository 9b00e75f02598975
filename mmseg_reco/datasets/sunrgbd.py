from typing import List

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .splits import SplitFileMixin

#: The 37 SUN RGB-D classes; label ``k`` of the files is class ``k - 1``.
SUNRGBD_CLASSES = ('wall', 'floor', 'cabinet', 'bed', 'chair', 'sofa',
                   'table', 'door', 'window', 'bookshelf', 'picture',
                   'counter', 'blinds', 'desk', 'shelves', 'curtain',
                   'dresser', 'pillow', 'mirror', 'floor mat', 'clothes',
                   'ceiling', 'books', 'fridge', 'tv', 'paper', 'towel',
                   'shower curtain', 'box', 'whiteboard', 'person',
                   'night stand', 'toilet', 'sink', 'lamp', 'bathtub', 'bag')


def bit_palette(num: int, offset: int = 1) -> List[List[int]]:
    """Distinct colours from the bits of the label id (the Pascal VOC
    colour-map construction), for ids ``offset .. offset + num - 1``."""
    palette = []
    for index in range(offset, offset + num):
        rgb, value = [0, 0, 0], index
        for shift in range(7, -1, -1):
            for ch in range(3):
                rgb[ch] |= ((value >> ch) & 1) << shift
            value >>= 3
        palette.append(rgb)
    return palette


@DATASETS.register_module()
class SUNRGBDDataset(SplitFileMixin, BaseSegDataset):
    """SUN RGB-D, 37 classes, in ReCo's re-split and resolution.

    ReCo (arXiv 2104.04465, appendix A) moves every test image outside a
    475-image list into the training set (5285 + 4575 = 9860 train, 475 val)
    and rescales images and labels to 384x512; ``tools/convert_sunrgbd.py``
    writes that layout from the 37-class SUN RGB-D release. Label files store 0
    for void and ``k`` for class ``k - 1``, so the dataset uses
    ``reduce_zero_label=True`` (0 -> 255, ``k`` -> ``k - 1``), as the
    authors' ``sun_class_map`` does.

    Layout::

        data/sunrgbd
        ├── img_dir/{train,val}/img-<6 digits>.jpg
        ├── ann_dir/{train,val}/img-<6 digits>.png
        └── splits/train.txt (9860), val.txt (475),
                   labelled-<tag>.txt, unlabelled-<tag>.txt

    Building the dataset checks that every listed image and label exists,
    and names the split file otherwise.

    Args:
        img_suffix (str): Image suffix. Default: '.jpg'.
        seg_map_suffix (str): Label suffix. Default: '.png'.
        reduce_zero_label (bool): Map file label 0 (void) to 255 and ``k``
            to ``k - 1``. Default: True.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.

    Raises:
        FileNotFoundError: A listed image or label does not exist.
        ValueError: The split lists no image.
    """
    METAINFO = dict(classes=SUNRGBD_CLASSES,
                    palette=bit_palette(len(SUNRGBD_CLASSES)))

    def __init__(self,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = True,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs)
