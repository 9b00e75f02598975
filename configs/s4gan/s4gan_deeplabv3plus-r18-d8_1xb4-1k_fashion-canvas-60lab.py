# S4GAN on the demo canvases (60 labelled images), CPU-sized model.
_base_ = [
    '../_base_/models/deeplabv3plus_r18-d8_demo.py',
    '../_base_/datasets/fashion_canvas_semi.py',
    '../_base_/schedules/schedule_1k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/s4gan.py',
]
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
optim_wrapper = dict(
    _delete_=True, student=_base_.optim_wrapper, **_base_.s4gan_optim_wrapper)
