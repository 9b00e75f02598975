# RC2L's supervised baseline on the demo canvases: the region (MaskFormer)
# model trained on the 60 labelled images only, student evaluated; the
# optimiser of the RC2L demo (backbone learning rate x 0.1). It sees as
# many labelled images per step as the RC2L demo (4; RC2L adds 4
# unlabelled), so the two differ only in the unlabelled images.
_base_ = [
    '../_base_/models/region_r18_demo.py',
    '../_base_/datasets/fashion_canvas_semi.py',
    '../_base_/schedules/schedule_1k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/supervised.py',
]
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
num_labelled = 4
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
# the global batch these settings were tuned for (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=4)
