"""Label-id maps of the datasets (pure numpy, no mmseg)."""
import numpy as np

#: Label value of void pixels.
IGNORE_INDEX = 255

#: Cityscapes label id -> train id of the 19 evaluated classes (road,
#: sidewalk, building, wall, fence, pole, traffic light, traffic sign,
#: vegetation, terrain, sky, person, rider, car, truck, bus, train,
#: motorcycle, bicycle); every other id is void. GTA5 labels use the same
#: ids.
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
        label (np.ndarray): (H, W) integer label ids; ids outside the
            evaluated 19 (including negative or > 255 ones) are void.
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
