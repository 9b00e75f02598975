from mmseg.datasets import BaseSegDataset, CityscapesDataset
from mmseg.registry import DATASETS

from .splits import SplitFileMixin


@DATASETS.register_module()
class GTA5Dataset(SplitFileMixin, BaseSegDataset):
    """GTA5 (24966 synthetic images) labelled with the 19 Cityscapes classes.

    The GTA5 label PNGs hold Cityscapes label ids; ``tools/convert_gta5.py``
    maps them once to the 19 Cityscapes train ids
    (:func:`~mmseg_reco.datasets.label_maps.to_train_ids`, every other id
    -> 255) and writes ``<id>_labelTrainIds.png`` next to them. Classes
    and palette are Cityscapes', so GTA5 and Cityscapes datasets
    concatenate (semi-supervised domain adaptation, memory-bank
    Alonso et al., ICCV 2021, arXiv 2104.13415, section 4.3.2).

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
