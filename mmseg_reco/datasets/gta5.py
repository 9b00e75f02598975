import numpy as np
from mmseg.datasets import BaseSegDataset, CityscapesDataset
from mmseg.registry import DATASETS

from .splits import IGNORE_INDEX, check_data_list

#: Cityscapes label id -> train id (the 19 evaluated classes); every other
#: id is void. GTA5 labels use the Cityscapes label ids.
CITYSCAPES_ID_TO_TRAIN_ID = {
    7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9,
    23: 10, 24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18
}


def train_id_lut(ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """(256,) uint8 look-up table: Cityscapes/GTA5 label id -> train id."""
    lut = np.full(256, ignore_index, np.uint8)
    for label_id, train_id in CITYSCAPES_ID_TO_TRAIN_ID.items():
        lut[label_id] = train_id
    return lut


def to_train_ids(label: np.ndarray,
                 ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Map a Cityscapes/GTA5 label-id map to the 19 train ids.

    Args:
        label (np.ndarray): (H, W) integer label ids (0..33; -1 and ids
            above 33 are void too).
        ignore_index (int): Value of void pixels. Default: 255.

    Returns:
        np.ndarray: (H, W) uint8 train ids in ``[0, 19)`` or
        ``ignore_index``.
    """
    label = np.asarray(label)
    lut = train_id_lut(ignore_index)
    valid = (label >= 0) & (label < lut.size)
    return np.where(valid, lut[np.clip(label, 0, lut.size - 1)],
                    ignore_index).astype(np.uint8)


@DATASETS.register_module()
class GTA5Dataset(BaseSegDataset):
    """GTA5 (24966 synthetic images) labelled with the 19 Cityscapes classes.

    The GTA5 label PNGs hold Cityscapes label ids; ``tools/convert_gta5.py``
    maps them once to the 19 Cityscapes train ids (:func:`to_train_ids`,
    every other id -> 255) and writes ``<id>_labelTrainIds.png`` next to
    them. Classes and palette are Cityscapes', so GTA5 and Cityscapes
    datasets concatenate (semi-supervised domain adaptation, memory-bank
    paper 003, section 4.3.2).

    Layout::

        data/gta5
        ├── images/<5 digits>.png
        ├── labels/<5 digits>.png                  (raw label ids)
        ├── labels/<5 digits>_labelTrainIds.png    (tools/convert_gta5.py)
        └── splits/train.txt (every image, tools/convert_gta5.py)

    Building the dataset checks that every listed image and label exists,
    and names the split file otherwise.

    Args:
        img_suffix (str): Image suffix. Default: '.png'.
        seg_map_suffix (str): Label suffix. Default: '_labelTrainIds.png'.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.

    Raises:
        FileNotFoundError: A listed image or label does not exist.
        ValueError: The split lists no image.
    """
    METAINFO = CityscapesDataset.METAINFO

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '_labelTrainIds.png',
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    def load_data_list(self) -> list:
        """Load the split and check that its files exist."""
        data_list = super().load_data_list()
        source = (f'ann_file {self.ann_file!r}' if self.ann_file else
                  f'image folder {self.data_prefix.get("img_path")!r}')
        check_data_list(data_list, source)
        return data_list
