# S4GAN, ReCo Table 1: Cityscapes, 50 class-balanced labelled images.
_base_ = ['./s4gan_deeplabv3plus-r101-d8_1xb2-40k_cityscapes-20lab.py']
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.labelled_dataset, ann_file='splits/labelled-50.txt'),
        dict(_base_.unlabelled_dataset, ann_file='splits/unlabelled-50.txt'),
    ]))
