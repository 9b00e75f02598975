# RC2L on the demo canvases (60 labelled images, the rest unlabelled): the
# small region model, 4 labelled + 4 unlabelled images per batch, the
# teacher evaluated. AdamW as in the paper, with a larger learning rate and
# no backbone multiplier since the demo backbone starts from random weights.
_base_ = [
    '../_base_/models/region_r18_demo.py',
    '../_base_/datasets/fashion_canvas_semi.py',
    '../_base_/schedules/schedule_1k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/rc2l.py',
]
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-4),
    clip_grad=dict(max_norm=0.01, norm_type=2))
