from .feature_perturbation import FeatureDropout
from .head_outputs import batch_cat, batch_detach, batch_slice, head_logits
from .loss_dicts import rename_loss_dict, reweight_loss_dict
from .memory_bank import ClassMemoryBank, topk_per_image_class

__all__ = [
    'ClassMemoryBank', 'topk_per_image_class', 'FeatureDropout', 'batch_cat',
    'batch_detach', 'batch_slice', 'head_logits', 'rename_loss_dict',
    'reweight_loss_dict'
]
