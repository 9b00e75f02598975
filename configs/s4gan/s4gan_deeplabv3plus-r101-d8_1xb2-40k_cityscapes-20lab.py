# S4GAN, ReCo Table 1: Cityscapes, 20 class-balanced labelled images.
_base_ = [
    '../_base_/models/deeplabv3plus_r101-d8.py',
    '../_base_/datasets/cityscapes_semi.py',
    '../_base_/schedules/schedule_40k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/s4gan.py',
]
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
model['segmentor']['decode_head']['num_classes'] = 19
optim_wrapper = dict(
    _delete_=True, student=_base_.optim_wrapper, **_base_.s4gan_optim_wrapper)
# the authors' Cityscapes settings: threshold 0.7, discriminator lr 1e-5
model['semi_train_cfg']['threshold_st'] = 0.7
optim_wrapper['discriminator']['optimizer']['lr'] = 1e-5
