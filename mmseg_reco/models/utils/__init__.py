from .feature_perturbation import FeatureDropout
from .head_outputs import batch_cat, batch_detach, batch_slice, head_logits
from .memory_bank import ClassMemoryBank, topk_per_image_class
from .mixing import ClassMix, CutMix, CutOut
from .semi_batch import SemiBatch, WeakPass
from .strong_augment import StrongAugment

__all__ = [
    'ClassMemoryBank', 'topk_per_image_class', 'ClassMix', 'CutMix', 'CutOut',
    'FeatureDropout', 'SemiBatch', 'StrongAugment', 'WeakPass', 'batch_cat',
    'batch_detach', 'batch_slice', 'head_logits'
]
