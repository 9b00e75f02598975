# Supervised ReCo (CE + ReCo, Eq. 5) on every labelled demo canvas; the demo
# of README command (a). CPU: about 0.3 s per iteration on 2 cores.
_base_ = [
    '../_base_/models/deeplabv3plus_r18-d8_rep_demo.py',
    '../_base_/datasets/fashion_canvas.py',
    '../_base_/schedules/schedule_1k.py',
    '../_base_/default_runtime.py',
]
# the global batch these settings were tuned for (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=8)
