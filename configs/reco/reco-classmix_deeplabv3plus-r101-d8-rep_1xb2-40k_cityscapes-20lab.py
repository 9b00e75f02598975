# ReCo + ClassMix (Eq. 6), ReCo Table 1: Cityscapes, 20 class-balanced
# labelled images (python tools/make_splits.py class-balanced
# --dataset cityscapes --num-labelled 20).
_base_ = [
    '../_base_/models/deeplabv3plus_r101-d8_rep.py',
    '../_base_/datasets/cityscapes_semi.py',
    '../_base_/schedules/schedule_40k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/reco_classmix.py',
]
split = '20'
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.labelled_dataset, ann_file=f'splits/labelled-{split}.txt'),
        dict(
            _base_.unlabelled_dataset,
            ann_file=f'splits/unlabelled-{split}.txt'),
    ]))
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
# the ReCo loss over labelled + unlabelled pixels lives in ReCoTerm
model['segmentor']['decode_head']['loss_rep'] = None
model['segmentor']['decode_head']['decode_head']['num_classes'] = 19
model['strong_aug']['scale_range'] = _base_.strong_scale_range
