from .fashion_canvas import FashionCanvasDataset
from .samplers import LabelledUnlabelledSampler
from .unlabelled_dataset import UnlabelledDataset

__all__ = [
    'FashionCanvasDataset', 'LabelledUnlabelledSampler', 'UnlabelledDataset'
]
