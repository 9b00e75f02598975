from .hooks import MeanTeacherHook, MemoryBankHook, RandomStateHook
from .optimizers import MultiOptimWrapperConstructor

__all__ = [
    'MeanTeacherHook', 'MemoryBankHook', 'MultiOptimWrapperConstructor',
    'RandomStateHook'
]
