_base_ = [
    '../_base_/models/deeplabv3plus_r18-d8_demo.py',
    '../_base_/datasets/fashion_canvas_semi.py',
    '../_base_/schedules/schedule_1k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/supervised.py',
]
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
# the labelled batch of the semi-supervised demo configs (4 of their 8
# images), as the authors' supervised baseline keeps the labelled batch
num_labelled = _base_.num_labelled
train_dataloader = dict(
    batch_size=num_labelled,
    sampler=dict(batch_size=num_labelled, num_labelled=num_labelled))
# the global batch these settings were tuned for (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=4)
