# S4GAN, ReCo Table 1: Pascal VOC, 60 class-balanced labelled images.
_base_ = [
    '../_base_/models/deeplabv3plus_r101-d8.py',
    '../_base_/datasets/voc12_aug_semi.py',
    '../_base_/schedules/schedule_40k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/s4gan.py',
]
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
optim_wrapper = dict(
    _delete_=True, student=_base_.optim_wrapper, **_base_.s4gan_optim_wrapper)
