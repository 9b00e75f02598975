# ClassMix (mean teacher) on your own folders (docs/custom_data.md): every
# image of train/images labelled, unlabelled/ as the unlabelled images.
_base_ = [
    '../_base_/models/deeplabv3plus_r18-d8_demo.py',
    '../_base_/datasets/semi_folder.py',
    '../_base_/schedules/schedule_1k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/classmix.py',
]
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
model['segmentor']['decode_head']['num_classes'] = len(
    _base_.metainfo['classes'])
model['strong_aug']['scale_range'] = _base_.strong_scale_range
# log the unlabelled images that could not be decoded (skipped)
custom_hooks = _base_.custom_hooks + _base_.data_hooks
