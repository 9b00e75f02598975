from .hooks import MeanTeacherHook, RandomStateHook
from .optimizers import MultiOptimWrapperConstructor

__all__ = [
    'MeanTeacherHook', 'MultiOptimWrapperConstructor', 'RandomStateHook'
]
