from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .splits import SplitFileMixin


@DATASETS.register_module()
class FashionCanvasDataset(SplitFileMixin, BaseSegDataset):
    """Fashion-MNIST canvases: the offline demo dataset.

    Built by ``tools/prepare_demo.py``: 64x64 RGB canvases holding 2-4
    tinted, rescaled Fashion-MNIST items on a dark background. Label 0 is
    background and label ``c + 1`` is Fashion-MNIST class ``c`` (11 classes).
    Train canvases come from the Fashion-MNIST train images only, val
    canvases from the t10k test images only.

    Layout (mmseg's)::

        data/fashion_canvas
        ├── img_dir/{train,val}/<stem>.png
        ├── ann_dir/{train,val}/<stem>.png
        └── splits/{train,val}.txt        (one stem per line)

    Example config::

        dict(type='FashionCanvasDataset', data_root='data/fashion_canvas',
             data_prefix=dict(img_path='img_dir/train',
                              seg_map_path='ann_dir/train'),
             ann_file='splits/train.txt', pipeline=[...])

    Args:
        img_suffix (str): Suffix of images. Default: '.png'.
        seg_map_suffix (str): Suffix of label maps. Default: '.png'.
        reduce_zero_label (bool): Whether to map label 0 to the ignore
            index. Background is a real class here. Default: False.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = dict(
        classes=('background', 'T-shirt/top', 'Trouser', 'Pullover', 'Dress',
                 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'),
        palette=[[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25],
                 [0, 130, 200], [245, 130, 48], [145, 30, 180],
                 [70, 240, 240], [240, 50, 230], [210, 245, 60],
                 [250, 190, 212]])

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs)
