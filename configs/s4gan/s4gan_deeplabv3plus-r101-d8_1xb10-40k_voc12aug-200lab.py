# S4GAN, ReCo Table 1: Pascal VOC, 200 class-balanced labelled images.
_base_ = ['./s4gan_deeplabv3plus-r101-d8_1xb10-40k_voc12aug-60lab.py']
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.labelled_dataset, ann_file='splits/labelled-200.txt'),
        dict(_base_.unlabelled_dataset, ann_file='splits/unlabelled-200.txt'),
    ]))
