# ReCo appendix A: SGD, lr 2.5e-3, momentum 0.9, weight decay 5e-4,
# polynomial annealing with power 0.9, 40k iterations for every dataset.
max_iters = 40000
optimizer = dict(type='SGD', lr=2.5e-3, momentum=0.9, weight_decay=5e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=4000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=4000, max_keep_ckpts=2,
        save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
    # torch generator state in checkpoints: exact --resume
    rng_state=dict(type='RandomStateHook'),
    # stop on a non-finite loss before anything is saved
    nonfinite_loss=dict(type='NonFiniteLossHook'),
    # refuse checkpoints of another method or class count
    checkpoint_check=dict(type='CheckpointCompatibilityHook'))
