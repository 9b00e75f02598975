# ReCo + Supervised (CE + ReCo loss on the labelled pixels, Eq. 5), ReCo
# Table 1 ("all labels"): Pascal VOC 2012 + SBD, all 10582 labelled images. The
# supervised baseline
# ../baselines/supervised_deeplabv3plus-r101-d8_1xb20-40k_voc12aug-full.py
# (same data, batch, schedule and photometric augmentation) with ReCo's
# representation head, whose own ReCo loss is on.
_base_ = [
    '../_base_/models/deeplabv3plus_r101-d8_rep.py',
    '../_base_/datasets/voc12_aug.py',
    '../_base_/schedules/schedule_40k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/supervised.py',
]
train_dataloader = dict(
    dataset=dict(ann_file='ImageSets/Segmentation/train_aug.txt'))
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
model['segmentor']['decode_head']['decode_head']['num_classes'] = 21
# the global batch these settings were tuned for (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=20)
