# ReCo + ClassMix (Eq. 6) with mmseg's PSPNet ResNet-50
# (mmseg::_base_/models/pspnet_r50-d8.py), unchanged but for the class count:
# Pascal VOC 2012 + SBD, ReCo's 60 class-balanced labelled images (python
# tools/make_splits.py class-balanced --dataset voc12aug --num-labelled 60), 10
# labelled + 10 unlabelled images per batch on one GPU. RepresentationHead tap:
# 'cls_seg', the input of the classifier: the PSP bottleneck over the last
# ResNet stage (in_index=3) and its pyramid pooling, 512 channels at stride 8.
_base_ = [
    'mmseg::_base_/models/pspnet_r50-d8.py',
    '../../_base_/datasets/voc12_aug_semi.py',
    '../../_base_/schedules/schedule_40k.py',
    '../../_base_/default_runtime.py',
    '../../_base_/methods/reco_classmix.py',
]
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
segmentor = model['segmentor']
# the training pipelines pad to the crop size, so batches stack as they are
segmentor['data_preprocessor']['size_divisor'] = 1
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
