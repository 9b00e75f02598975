# RC2L on the demo canvases (60 labelled images, the rest unlabelled): the
# small region model, 4 labelled + 4 unlabelled images per batch, the
# teacher evaluated. AdamW as in the paper, backbone learning rate x 0.1
# included (the demo's runs, benchmarks/accuracy.py and tools/demo.py, start
# the backbone from the Fashion-MNIST pre-training of
# tools/pretrain_backbone.py), with a larger learning rate for the short
# schedule.
# Its supervised baseline
# (supervised_region-r18_1xb4-1k_fashion-canvas-60lab.py) trains on the same 4
# labelled images per step.
_base_ = [
    '../_base_/models/region_r18_demo.py',
    '../_base_/datasets/fashion_canvas_semi.py',
    '../_base_/schedules/schedule_1k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/rc2l.py',
]
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
# the strong view's random rescale: the dataset's range (choice, see
# _base_/methods/rc2l.py)
model['strong_aug']['scale_range'] = _base_.strong_scale_range
# the unsupervised weight ramps up over the first 30% of the 1k schedule:
# the randomly initialised teacher has no usable regions before that
model['semi_train_cfg']['rampup_iters'] = 300
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-4),
    clip_grad=dict(max_norm=0.01, norm_type=2),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
