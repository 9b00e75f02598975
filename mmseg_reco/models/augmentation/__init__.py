from .mixing import ClassMix, CutMix, CutOut
from .semi_batch import SemiBatch, WeakPass
from .strong_augment import StrongAugment
from .transform_record import TransformRecord, project_target

__all__ = [
    'ClassMix', 'CutMix', 'CutOut', 'SemiBatch', 'StrongAugment',
    'TransformRecord', 'WeakPass', 'project_target'
]
