# RC2L's supervised baseline on the label-efficiency benchmark
# (docs/benchmarks.md): the half-width region model on the 10 labelled
# canvases only, student evaluated, with RC2L's optimiser (AdamW, backbone
# learning rate x 0.1). It sees as many labelled canvases per step as RC2L
# (8; RC2L adds 8 unlabelled), so the two differ only in the unlabelled
# canvases.
_base_ = [
    '../_base_/models/region_r18w32_demo.py',
    '../_base_/datasets/fashion_canvas_semi_bench.py',
    '../_base_/schedules/schedule_2k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/supervised.py',
]
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
num_labelled = _base_.num_labelled
train_dataloader = dict(
    batch_size=num_labelled,
    sampler=dict(batch_size=num_labelled, num_labelled=num_labelled))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-4),
    clip_grad=dict(max_norm=0.01, norm_type=2),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
auto_scale_lr = dict(enable=False, base_batch_size=num_labelled)
