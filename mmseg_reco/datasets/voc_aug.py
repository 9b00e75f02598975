from mmseg.datasets import PascalVOCDataset
from mmseg.registry import DATASETS

from .splits import SplitFileMixin


@DATASETS.register_module()
class VOCAugDataset(SplitFileMixin, PascalVOCDataset):
    """Pascal VOC 2012 with the SBD augmented labels in one label folder.

    mmseg's :class:`~mmseg.datasets.PascalVOCDataset` (21 classes, label 0
    is background, 255 is ignore) reading one split file, with every label
    in ``SegmentationClassAug`` as written by ``tools/convert_voc_aug.py``:
    the SBD labels, overwritten by the VOC 2012 labels for the VOC train and
    val images. The 10582-image training set is
    ``ImageSets/Segmentation/train_aug.txt``; labelled/unlabelled subsets
    come from ``tools/make_splits.py``.

    Layout::

        data/VOCdevkit/VOC2012
        ├── JPEGImages/<id>.jpg
        ├── SegmentationClass/<id>.png        (VOC 2012, palette PNGs)
        ├── SegmentationClassAug/<id>.png     (tools/convert_voc_aug.py)
        ├── ImageSets/Segmentation/
        │   ├── train.txt (1464)  val.txt (1449)
        │   └── train_aug.txt (10582)  aug.txt (9118)
        └── splits/labelled-<tag>.txt, unlabelled-<tag>.txt

    Unlike mmseg's class, building the dataset checks that every image and
    label of the split file exists, and names the split file otherwise.

    Args:
        ann_file (str): The split file (image ids, one per line), relative
            to ``data_root``.
        data_prefix (dict): ``img_path`` and ``seg_map_path`` folders.
            Default: ``JPEGImages`` and ``SegmentationClassAug``.
        **kwargs: Passed to :class:`~mmseg.datasets.PascalVOCDataset`.

    Raises:
        FileNotFoundError: A listed image or label does not exist.
        ValueError: The split file lists no image.
    """

    def __init__(self,
                 ann_file: str,
                 data_prefix: dict = dict(
                     img_path='JPEGImages',
                     seg_map_path='SegmentationClassAug'),
                 **kwargs) -> None:
        super().__init__(ann_file=ann_file, data_prefix=data_prefix, **kwargs)
