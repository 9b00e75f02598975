# RC2L on the label-efficiency benchmark (docs/benchmarks.md): the
# half-width region model, 8 labelled + 8 unlabelled canvases a step, the
# teacher evaluated, the optimiser of the RC2L demo (AdamW, backbone
# learning rate x 0.1); its supervised baseline is
# supervised_region-r18w32_1xb8-2k_fashion-canvas-10lab.py.
_base_ = [
    '../_base_/models/region_r18w32_demo.py',
    '../_base_/datasets/fashion_canvas_semi_bench.py',
    '../_base_/schedules/schedule_2k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/rc2l.py',
]
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
model['strong_aug']['scale_range'] = _base_.strong_scale_range
# the unsupervised weight ramps up over the first 30% of the schedule
model['semi_train_cfg']['rampup_iters'] = _base_.max_iters * 3 // 10
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-4),
    clip_grad=dict(max_norm=0.01, norm_type=2),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
