# Semi-supervised domain adaptation GTA5 -> Cityscapes with the class-wise
# memory bank (Alonso et al., ICCV 2021, arXiv 2104.13415, section 4.3.2):
# DeepLabV3+ ResNet-50 (ImageNet), every GTA5 image labelled plus 1/30 of
# the Cityscapes train images (100); supplement Table 3: 59.9 mIoU on
# Cityscapes val.
# The labelled images of both domains are drawn evenly (the 100 Cityscapes
# images repeated 250 times ~ the 24966 GTA5 images) and take part in L_sup
# and L_contr; the memory bank keeps Cityscapes features only (CMBTerm
# source_domain: samples whose img_path contains a 'gta5' folder). Data as
# ./cmb_deeplabv3plus-r50-d8_1xb7-80k_cityscapes-1of30.py (full resolution) and
# python tools/convert_gta5.py; GTA5 images are cropped at full resolution.
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d8.py',
    '../_base_/datasets/gta5_cityscapes_semi.py',
    '../_base_/schedules/schedule_80k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/cmb.py',
]
num_classes = 19
split = '1of30'
# |X_l| of the Cityscapes split (ceil(2975 / 30)): K = max(1, 256 // 100)
num_city_labelled = 100
# GTA5 images / labelled Cityscapes images, rounded up
city_repeat = 250
data_root = 'data/cityscapes'
# alpha_c = sqrt(f_m / f_c) for Cityscapes and GTA5 (section 4.2): see
# ./cmb_deeplabv3plus-r50-d8_1xb7-80k_cityscapes-1of30.py
class_weight = None

segmentor = dict(
    _base_.model,
    pretrained=None,
    backbone=dict(
        _base_.model.backbone,
        depth=50,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),
    decode_head=dict(
        _base_.cmb_head,
        decode_head=dict(
            _base_.model.decode_head,
            num_classes=num_classes,
            loss_decode=dict(
                _base_.model.decode_head.loss_decode,
                class_weight=class_weight)),
        norm_cfg=_base_.norm_cfg))
model = dict(_delete_=True, segmentor=segmentor, **_base_.semi_model)
model['method_losses'] = [
    dict(
        _base_.cmb_loss,
        num_classes=num_classes,
        pseudo=dict(_base_.cmb_loss.pseudo, class_weight=class_weight),
        num_labelled_images=num_city_labelled,
        source_domain=dict(key='img_path', pattern=r'(^|/)gta5/'))
]
model['strong_aug']['num_classes'] = num_classes

optim_wrapper = dict(optimizer=dict(lr=4e-4))


# Table 1, weak augmentation of labelled images: resize x[0.75, 1.75] with
# probability 0.5, 512x512 crop, flip 0.5
def _labelled_pipeline(scale):
    return [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='CheckSegLabels', num_classes=19),
        dict(
            type='RandomApply',
            transforms=[
                dict(
                    type='RandomResize',
                    scale=scale,
                    ratio_range=(0.75, 1.75),
                    keep_ratio=True)
            ],
            prob=0.5),
        dict(type='RandomCrop', crop_size=(512, 512)),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackSegInputs'),
    ]


gta5_dataset = dict(
    _base_.gta5_dataset, pipeline=_labelled_pipeline((1914, 1052)))
city_labelled_dataset = dict(
    _base_.city_labelled_dataset,
    data_root=data_root,
    ann_file=f'splits/labelled-{split}.txt',
    pipeline=_labelled_pipeline((2048, 1024)))
unlabelled_dataset = dict(
    _base_.unlabelled_dataset,
    data_root=data_root,
    ann_file=f'splits/unlabelled-{split}.txt')
batch_size = 14
num_labelled = 7
train_dataloader = dict(
    batch_size=batch_size,
    sampler=dict(batch_size=batch_size, num_labelled=num_labelled),
    dataset=dict(datasets=[
        dict(
            type='ConcatDataset',
            datasets=[
                gta5_dataset,
                dict(
                    type='RepeatDataset',
                    times=city_repeat,
                    dataset=city_labelled_dataset)
            ]), unlabelled_dataset
    ]))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
# the global batch these settings were tuned for (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=14)
