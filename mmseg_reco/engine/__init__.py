from .hooks import MeanTeacherHook, RandomStateHook

__all__ = ['MeanTeacherHook', 'RandomStateHook']
