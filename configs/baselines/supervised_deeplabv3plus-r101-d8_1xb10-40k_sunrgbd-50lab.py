# Supervised baseline (labelled images only, doubled labelled batch), ReCo Table 1: SUN RGB-D, 50 class-balanced
# labelled images (python tools/make_splits.py class-balanced
# --dataset sunrgbd --num-labelled 50).
_base_ = [
    '../_base_/models/deeplabv3plus_r101-d8.py',
    '../_base_/datasets/sunrgbd.py',
    '../_base_/schedules/schedule_40k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/supervised.py',
]
split = '50'
train_dataloader = dict(
    dataset=dict(ann_file=f'splits/labelled-{split}.txt'))
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
model['segmentor']['decode_head']['num_classes'] = 37
# the global batch these settings were tuned for (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=10)
