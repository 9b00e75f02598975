# UniMatch, UniMatch Table 2 (blended protocol): 1/16 of the 10582 VOC 2012
# + SBD training images labelled at random, the rest unlabelled
# (python tools/make_splits.py ratio --dataset voc12aug --ratio 1/16).
# Choice: the project's VOC training (ReCo's: DeepLabV3+ R101, batch
# 10 + 10, 40k iterations) instead of the authors' (crop 321, 80 epochs,
# batch 8 + 8 on 4 GPUs), so that every method here trains alike.
_base_ = [
    '../_base_/models/deeplabv3plus_r101-d8.py',
    '../_base_/datasets/voc12_aug_semi.py',
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
model['segmentor']['decode_head']['num_classes'] = 21
model['strong_aug']['scale_range'] = _base_.strong_scale_range
