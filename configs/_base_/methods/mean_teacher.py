# The mean teacher shared by every semi-supervised method (ReCo's defaults,
# shared/papers/000 and the authors' code). A leaf config wraps its plain
# segmentor:  model = dict(_delete_=True, segmentor=_base_.model,
#                          **_base_.semi_model)
# Unlabelled strong view, built on the device from the teacher's crop:
# random rescale -> mixing -> flip -> colour jitter (p=0.8) -> blur (p=0.5).
strong_aug = dict(type='StrongAugment', mix='classmix', scale_range=(1.0, 1.5))
# labelled images: the same photometric augmentation (their geometric
# augmentation is in the data pipeline)
sup_aug = dict(
    type='StrongAugment', mix=None, scale_range=(1.0, 1.0), flip_prob=0.0)
semi_model = dict(
    type='SemiSegmentor',
    strong_aug=strong_aug,
    sup_aug=sup_aug,
    # Eq. 6: eta-weighted CE on the mixed pseudo-labels (eta = share of
    # pixels with confidence >= 0.97)
    pseudo_loss=dict(type='PseudoLabelCELoss', threshold=0.97),
    method_losses=[],
    semi_train_cfg=dict(unsup_weight=1.0, rampup_iters=0),
    # ReCo evaluates the teacher
    semi_test_cfg=dict(predict_on='teacher'))
# teacher = d * teacher + (1 - d) * student, d = min(1 - 1/(iter+1), 0.99);
# parameters only, teacher kept in train mode (BN batch statistics)
custom_hooks = [
    dict(
        type='MeanTeacherHook',
        max_momentum=0.99,
        buffers='skip',
        teacher_mode='train')
]
