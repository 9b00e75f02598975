from .mean_teacher_hook import MeanTeacherHook
from .random_state_hook import RandomStateHook

__all__ = ['MeanTeacherHook', 'RandomStateHook']
