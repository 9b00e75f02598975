# RC2L's supervised baseline on the demo canvases: the region (MaskFormer)
# model trained on the 60 labelled images only (8 per batch), student
# evaluated; the optimiser of the RC2L demo.
_base_ = [
    '../_base_/models/region_r18_demo.py',
    '../_base_/datasets/fashion_canvas_semi.py',
    '../_base_/schedules/schedule_1k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/supervised.py',
]
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
train_dataloader = dict(sampler=dict(num_labelled=8))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-4),
    clip_grad=dict(max_norm=0.01, norm_type=2))
