from mmseg.datasets import CityscapesDataset
from mmseg.registry import DATASETS

from .splits import SplitFileMixin


@DATASETS.register_module()
class CityscapesSplitDataset(SplitFileMixin, CityscapesDataset):
    """Cityscapes (19 classes) read through a split file, files checked.

    mmseg's :class:`~mmseg.datasets.CityscapesDataset`
    (``*_leftImg8bit.png`` images, ``*_gtFine_labelTrainIds.png`` labels,
    255 = ignore); a split line is ``<city>/<name>`` without the suffix, and
    an empty ``ann_file`` lists the whole folder. ReCo trains and evaluates
    on images downsampled to 512x1024 (``tools/convert_cityscapes.py``
    writes them, with the train-id labels).

    Layout::

        data/cityscapes_512x1024
        ├── leftImg8bit/{train,val}/<city>/<name>_leftImg8bit.png
        ├── gtFine/{train,val}/<city>/<name>_gtFine_labelTrainIds.png
        └── splits/labelled-<tag>.txt, unlabelled-<tag>.txt

    Building the dataset checks that every image and label of the split
    exists, and names the split file otherwise.

    Args:
        **kwargs: Passed to :class:`~mmseg.datasets.CityscapesDataset`.

    Raises:
        FileNotFoundError: A listed image or label does not exist.
        ValueError: The split lists no image.
    """
