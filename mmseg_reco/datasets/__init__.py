from .cityscapes_split import CityscapesSplitDataset
from .fashion_canvas import FashionCanvasDataset
from .folder_seg_dataset import FolderSegDataset
from .gta5 import GTA5Dataset
from .samplers import LabelledUnlabelledSampler
from .sunrgbd import SUNRGBDDataset
from .transforms import CheckSegLabels, MarkUnlabelled
from .unlabelled_dataset import UnlabelledDataset
from .voc_aug import VOCAugDataset

__all__ = [
    'CheckSegLabels', 'CityscapesSplitDataset', 'FashionCanvasDataset',
    'FolderSegDataset', 'GTA5Dataset', 'LabelledUnlabelledSampler',
    'MarkUnlabelled', 'SUNRGBDDataset', 'UnlabelledDataset', 'VOCAugDataset'
]
