# UniMatch, UniMatch Table 3: 1/16 of the 2975 Cityscapes training images
# labelled at random, the rest unlabelled (python tools/make_splits.py
# ratio --dataset cityscapes --ratio 1/16).
# Choice: the project's Cityscapes training (ReCo's: DeepLabV3+ R101,
# batch 2 + 2, 40k iterations, cross-entropy) instead of the authors'
# (crop 769 or 801, 240 epochs, OHEM, 8 GPUs).
_base_ = [
    '../_base_/models/deeplabv3plus_r101-d8.py',
    '../_base_/datasets/cityscapes_semi.py',
    '../_base_/schedules/schedule_40k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/unimatch.py',
]
split = '1of16'
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.labelled_dataset, ann_file=f'splits/labelled-{split}.txt'),
        dict(
            _base_.unlabelled_dataset,
            ann_file=f'splits/unlabelled-{split}.txt'),
    ]))
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
model['segmentor']['decode_head']['num_classes'] = 19
model['strong_aug']['scale_range'] = _base_.strong_scale_range
