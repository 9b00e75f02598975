# RC2L (shared/papers/004): the mean teacher with region-level losses on the
# unlabelled images, alpha * (1 RMC + 20 RFC + 4 RCC + 4 SMC), and no
# pixel-level pseudo-label CE. The model must be a region (MaskFormer) model
# (models/region_*.py). A leaf config wraps it:
#   model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
#   optim_wrapper = dict(_delete_=True, **_base_.rc2l_optim_wrapper)
_base_ = ['./mean_teacher.py']
semi_model = dict(
    # the student's masks are compared pixel by pixel with the teacher's
    # (weak view): photometric strong view only (colour jitter, blur); no
    # mixing, flip or rescale
    strong_aug=dict(mix=None, scale_range=(1.0, 1.0), flip_prob=0.0),
    pseudo_loss=None,
    method_losses=[
        dict(
            type='RC2LLoss',
            alpha=1.0,  # Table 4: 1.0 (VOC Aug), 2.0 (VOC Train 1/2)
            betas=(1.0, 20.0, 4.0, 4.0),  # RMC, RFC, RCC, SMC (sec. 4.1)
            tau_m=0.1,
            tau_f=0.1,
            # teacher regions: MaskFormer's panoptic inference thresholds
            object_threshold=0.8,
            overlap_threshold=0.8,
            mask_threshold=0.5,
            matcher=dict(
                type='HungarianMatcher',
                cost_class=1.0,
                cost_mask=20.0,
                cost_dice=1.0,
                # teacher and student masks share the 1/4 resolution:
                # dense matching is cheap there
                num_points=None))
    ],
    semi_test_cfg=dict(predict_on='teacher'))
# Eq. 4: teacher = tau * teacher + (1 - tau) * student, tau = min(1 - 1 /
# (iter + 1), 0.99). The teacher runs in eval mode (no dropout in its
# decoder, BN running statistics) with BN statistics averaged like the
# weights.
custom_hooks = [
    dict(
        type='MeanTeacherHook',
        max_momentum=0.99,
        buffers='ema',
        teacher_mode='eval')
]
# Section 4.1: AdamW, lr 1e-4, weight decay 1e-4 (poly 0.9 in the schedule);
# MaskFormer's backbone lr multiplier 0.1 and gradient clipping at 0.01.
rc2l_optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4),
    clip_grad=dict(max_norm=0.01, norm_type=2),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
