from .hooks import MeanTeacherHook

__all__ = ['MeanTeacherHook']
