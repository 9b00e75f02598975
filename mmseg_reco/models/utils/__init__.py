from .mixing import ClassMix, CutMix, CutOut
from .semi_batch import SemiBatch
from .strong_augment import StrongAugment

__all__ = ['ClassMix', 'CutMix', 'CutOut', 'SemiBatch', 'StrongAugment']
