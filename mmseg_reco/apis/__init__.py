"""Using trained models outside this package (plain mmseg export), and
the teacher's BatchNorm statistics under each policy."""
from .export import export_model, plain_segmentor_cfg, plain_state_dict
from .teacher_bn import (TEACHER_BN_POLICIES, apply_teacher_buffers,
                         evaluate_teacher_bn, format_teacher_bn_table,
                         labelled_train_set, precise_train_set,
                         trained_buffer_policy, trained_precise_source)

__all__ = [
    'export_model', 'plain_segmentor_cfg', 'plain_state_dict',
    'TEACHER_BN_POLICIES', 'apply_teacher_buffers', 'evaluate_teacher_bn',
    'format_teacher_bn_table', 'labelled_train_set', 'precise_train_set',
    'trained_buffer_policy', 'trained_precise_source'
]
