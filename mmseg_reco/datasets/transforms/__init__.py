from .check_seg_labels import CheckSegLabels
from .mark_unlabelled import MarkUnlabelled

__all__ = ['CheckSegLabels', 'MarkUnlabelled']
