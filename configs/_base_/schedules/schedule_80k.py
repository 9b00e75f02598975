# 80k iterations (Alonso et al., section 4.2): the 40k schedule's SGD with
# momentum 0.9 and polynomial annealing (power 0.9) over 80k iterations,
# evaluated and saved every 8k. The learning rate is the dataset's (leaf
# configs).
_base_ = ['./schedule_40k.py']
max_iters = 80000
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
