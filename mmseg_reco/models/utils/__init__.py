from .memory_bank import ClassMemoryBank, topk_per_image_class
from .mixing import ClassMix, CutMix, CutOut
from .semi_batch import SemiBatch
from .strong_augment import StrongAugment

__all__ = [
    'ClassMemoryBank', 'topk_per_image_class', 'ClassMix', 'CutMix', 'CutOut',
    'SemiBatch', 'StrongAugment'
]
