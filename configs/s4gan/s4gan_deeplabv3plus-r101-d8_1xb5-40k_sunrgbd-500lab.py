# S4GAN, ReCo Table 1: SUN RGB-D, 500 labelled images.
_base_ = ['./s4gan_deeplabv3plus-r101-d8_1xb5-40k_sunrgbd-50lab.py']
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.labelled_dataset, ann_file='splits/labelled-500.txt'),
        dict(_base_.unlabelled_dataset, ann_file='splits/unlabelled-500.txt'),
    ]))
