# Class-wise memory bank contrast (Alonso et al., ICCV 2021, arXiv
# 2104.13415, sections 3 and 4.2) on the shared mean teacher.
# A leaf config wraps its plain segmentor and its decode head:
#   model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
#   model['segmentor']['decode_head'] = dict(
#       _base_.cmb_head, decode_head=_base_.model.decode_head,
#       norm_cfg=_base_.norm_cfg)
#   model['method_losses'] = [dict(_base_.cmb_loss, num_classes=C)]
#
# Eq. 1: L = L_sup + L_pseudo + 0.01 L_ent + 0.1 L_contr, with L_pseudo and
# L_contr off for the first 2k iterations. L_sup is the decode head's CE
# (per-class weights alpha: ``loss_decode.class_weight``, Cityscapes/GTA5
# only); the other three terms and the memory bank live in CMBTerm.
_base_ = ['./mean_teacher.py']
# projection g, prediction q (Linear-BN-ReLU-Linear, 256) and 2 x C attention
# modules (Linear-BN-LeakyReLU-Linear-Sigmoid, 256 -> 1) on the feature the
# inner head passes to its classifier
cmb_head = dict(
    type='CMBHead',
    proj_dim=256,
    proj_hidden=256,
    attention_hidden=256,
    tap='cls_seg')
# section 4.2: psi = 256, phi = 0.95, K = max(1, psi / |X_l|) per image and
# class (|X_l| taken from the labelled dataset by MemoryBankHook), s = 6;
# pseudo and contrastive weights 0 for the first 2k iterations
cmb_loss = dict(
    type='CMBTerm',
    bank=dict(size=256, feat_dim=256, conf_threshold=0.95),
    loss_weights=dict(pseudo=1.0, ent=0.01, contr=0.1),
    warmup_iters=2000,
    pseudo=dict(sharpen=6.0, class_weight=None))
# Table 1, strong (unlabelled): flip 0.5, resize x[0.75, 1.75], colour jitter
# p 0.8 (brightness 0.3, contrast 0.3, saturation 0.15, hue 0.1), blur p 0.2,
# ClassMix. StrongAugment always rescales and mixes (Table 1: p 0.8 each);
# blur sigma in pixels as the authors' code (the paper gives none).
strong_aug = dict(
    type='StrongAugment',
    mix='classmix',
    scale_range=(0.75, 1.75),
    flip_prob=0.5,
    jitter_prob=0.8,
    brightness=(0.7, 1.3),
    contrast=(0.7, 1.3),
    saturation=(0.85, 1.15),
    hue=(-0.1, 0.1),
    blur_prob=0.2,
    blur_sigma=(0.1, 1.5))
# Table 1, weak (labelled; crop and flip in the data pipeline): colour jitter
# p 0.2 (brightness 0.15, contrast 0.15, saturation 0.075, hue 0.05), no
# blur. Not reproduced: the weak resize (p 0.5) and ClassMix (p 0.2) of
# labelled images.
sup_aug = dict(
    type='StrongAugment',
    mix=None,
    scale_range=(1.0, 1.0),
    flip_prob=0.0,
    jitter_prob=0.2,
    brightness=(0.85, 1.15),
    contrast=(0.85, 1.15),
    saturation=(0.925, 1.075),
    hue=(-0.05, 0.05),
    blur_prob=0.0)
semi_model = dict(
    strong_aug=strong_aug,
    sup_aug=sup_aug,
    # the pseudo-label CE (confidence^6 weights, Eq. 3/6) is in CMBTerm
    pseudo_loss=None,
    method_losses=[],
    semi_train_cfg=dict(unsup_weight=1.0, rampup_iters=0),
    # section 4.2: the student is evaluated
    semi_test_cfg=dict(predict_on='student'))
# Eq. 2 with a fixed tau = 0.997 (section 4.2) on the parameters, teacher in
# train mode (the authors' code). The bank is filled from the first iteration
# (the authors' code: MemoryBankHook(start_iter=1000)). The teacher's
# BatchNorm statistics follow mean_teacher.py's ``teacher_buffers`` and
# ``teacher_precise_source``.
custom_hooks = [
    dict(
        type='MeanTeacherHook',
        decay=0.997,
        buffers=_base_.teacher_buffers,
        precise_source=_base_.teacher_precise_source,
        teacher_mode='train'),
    dict(type='MemoryBankHook', start_iter=0),
]
