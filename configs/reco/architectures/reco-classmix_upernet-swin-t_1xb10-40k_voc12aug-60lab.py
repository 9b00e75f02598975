# ReCo + ClassMix (Eq. 6) with mmseg's UPerNet Swin-T
# (mmseg::_base_/models/upernet_swin.py), unchanged but for the class count:
# Pascal VOC 2012 + SBD, ReCo's 60 class-balanced labelled images (python
# tools/make_splits.py class-balanced --dataset voc12aug --num-labelled 60), 10
# labelled + 10 unlabelled images per batch on one GPU. RepresentationHead tap:
# 'cls_seg', the input of the classifier: UPerNet's fpn_bottleneck over the
# four Swin stages (in_index=[0, 1, 2, 3]) fused at stride 4, 512 channels.
_base_ = [
    'mmseg::_base_/models/upernet_swin.py',
    '../../_base_/datasets/voc12_aug_semi.py',
    '../../_base_/schedules/schedule_40k.py',
    '../../_base_/default_runtime.py',
    '../../_base_/methods/reco_classmix.py',
]
# Swin-T pre-trained on ImageNet-1k, as mmseg's
# swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/swin/swin_tiny_patch4_window7_224_20220317-1cdeb081.pth'  # noqa
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
segmentor = model['segmentor']
# the training pipelines pad to the crop size, so batches stack as they are
segmentor['data_preprocessor']['size_divisor'] = 1
segmentor['backbone']['init_cfg'] = dict(
    type='Pretrained', checkpoint=checkpoint)
segmentor['decode_head'] = dict(
    type='RepresentationHead',
    decode_head=dict(_base_.model.decode_head, num_classes=21),
    rep_dim=256,
    tap='cls_seg',
    norm_cfg=_base_.model.decode_head.norm_cfg,
    # the ReCo loss over labelled + unlabelled pixels lives in ReCoTerm
    loss_rep=None)
segmentor['auxiliary_head']['num_classes'] = 21
model['strong_aug']['scale_range'] = _base_.strong_scale_range
# mmseg's Swin UPerNet schedule: AdamW, linear warm-up, polynomial decay
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys=dict(
        absolute_pos_embed=dict(decay_mult=0.),
        relative_position_bias_table=dict(decay_mult=0.),
        norm=dict(decay_mult=0.))))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
        end=1500),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=1500,
        end=_base_.max_iters,
        by_epoch=False)
]
