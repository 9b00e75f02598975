# ClassMix mean-teacher baseline, ReCo Table 3: Cityscapes, partial labels,
# 1 labelled pixel per class per image
# (python tools/make_splits.py partial --dataset cityscapes --share 1px).
# Every training image is labelled (partially) and unlabelled; the partial
# labels override the teacher's pseudo-labels where they exist
# (../_base_/datasets/cityscapes_partial.py).
_base_ = [
    '../_base_/models/deeplabv3plus_r101-d8.py',
    '../_base_/datasets/cityscapes_partial.py',
    '../_base_/schedules/schedule_40k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/classmix.py',
]
split = 'p1px'
# partial labels in <train label folder>_<split>
partial_prefix = dict(
    _base_.train_prefix,
    seg_map_path=f"{_base_.train_prefix['seg_map_path']}_{split}")
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(
            _base_.labelled_dataset,
            ann_file=f'splits/labelled-{split}.txt',
            data_prefix=partial_prefix),
        dict(
            _base_.unlabelled_dataset,
            ann_file=f'splits/unlabelled-{split}.txt',
            data_prefix=partial_prefix),
    ]))
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
model['segmentor']['decode_head']['num_classes'] = 19
model['strong_aug']['scale_range'] = _base_.strong_scale_range
