# Class-wise memory bank contrast (Alonso et al., ICCV 2021, arXiv 2104.13415,
# section 4.2), Pascal VOC aug (10582 train images), 1/50 labelled (212
# images: python tools/make_splits.py ratio --dataset voc12aug --ratio 1/50
# [--seed 1|2]), DeepLabV3+ with an ImageNet ResNet-50 (paper Table 3:
# 63.4 mIoU, mean of three splits).
# Other seeds: --cfg-options
#   train_dataloader.dataset.datasets.0.ann_file=splits/labelled-1of50-seed1.txt
#   train_dataloader.dataset.datasets.1.ann_file=splits/unlabelled-1of50-seed1.txt
# Section 4.2: 80k iterations, SGD (momentum 0.9), lr 4e-4, poly; 321x321
# crops, batch 20 (labelled) + 20 (unlabelled strong views); no class
# balancing for VOC (alpha = 1). K = max(1, 256 // 212) = 1.
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d8.py',
    '../_base_/datasets/voc12_aug_semi.py',
    '../_base_/schedules/schedule_80k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/cmb.py',
]
num_classes = 21
split = '1of50'

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
        decode_head=dict(_base_.model.decode_head, num_classes=num_classes),
        norm_cfg=_base_.norm_cfg))
model = dict(_delete_=True, segmentor=segmentor, **_base_.semi_model)
model['method_losses'] = [dict(_base_.cmb_loss, num_classes=num_classes)]
model['strong_aug']['num_classes'] = num_classes

optim_wrapper = dict(optimizer=dict(lr=4e-4))

# Table 1, weak augmentation of labelled images: resize x[0.75, 1.75] with
# probability 0.5, crop, flip 0.5 (colour jitter: the method's sup_aug)
labelled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegLabels', num_classes=21),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='RandomResize',
                scale=_base_.scale,
                ratio_range=(0.75, 1.75),
                keep_ratio=True)
        ],
        prob=0.5),
    dict(type='RandomCrop', crop_size=_base_.crop_size),
    dict(type='Pad', size=_base_.crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
labelled_dataset = dict(
    _base_.labelled_dataset,
    ann_file=f'splits/labelled-{split}.txt',
    pipeline=labelled_pipeline)
unlabelled_dataset = dict(
    _base_.unlabelled_dataset, ann_file=f'splits/unlabelled-{split}.txt')
batch_size = 40
num_labelled = 20
train_dataloader = dict(
    batch_size=batch_size,
    sampler=dict(batch_size=batch_size, num_labelled=num_labelled),
    dataset=dict(datasets=[labelled_dataset, unlabelled_dataset]))
# the global batch these settings were tuned for (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=40)
