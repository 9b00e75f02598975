from .mean_teacher_hook import MeanTeacherHook
from .memory_bank_hook import MemoryBankHook
from .random_state_hook import RandomStateHook

__all__ = ['MeanTeacherHook', 'MemoryBankHook', 'RandomStateHook']
