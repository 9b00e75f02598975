# 160k iterations with the poly (power 0.9) policy of schedule_40k.py.
_base_ = ['./schedule_40k.py']
max_iters = 160000
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=8000)
default_hooks = dict(checkpoint=dict(interval=8000))
