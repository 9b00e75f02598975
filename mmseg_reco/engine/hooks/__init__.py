from .checkpoint_compatibility_hook import (CheckpointCompatibilityHook,
                                            IncompatibleCheckpointError)
from .mean_teacher_hook import MeanTeacherHook
from .memory_bank_hook import MemoryBankHook
from .nonfinite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .pseudo_label_quality_hook import PseudoLabelQualityHook
from .random_state_hook import RandomStateHook
from .unreadable_image_hook import UnreadableImageHook

__all__ = [
    'CheckpointCompatibilityHook', 'IncompatibleCheckpointError',
    'MeanTeacherHook', 'MemoryBankHook', 'NonFiniteLossError',
    'NonFiniteLossHook', 'PseudoLabelQualityHook', 'RandomStateHook',
    'UnreadableImageHook'
]
