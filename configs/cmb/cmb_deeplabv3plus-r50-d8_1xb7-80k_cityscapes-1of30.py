# Class-wise memory bank contrast (Alonso et al., ICCV 2021, arXiv 2104.13415,
# section 4.2), Cityscapes, 1/30 of the 2975 train images labelled (100
# images), DeepLabV3+ with an ImageNet ResNet-50 (supplement Table 1: 64.8
# mIoU, mean of three splits). DeepLabV3+ trains on full-resolution images
# (the paper downsamples to 512x1024 for DeepLabV2 only):
#   python tools/convert_cityscapes.py data/cityscapes --out data/cityscapes \
#       --size none
#   python tools/make_splits.py ratio --dataset cityscapes \
#       --data-root data/cityscapes --ratio 1/30 [--seed 1|2]
# Other seeds: --cfg-options
#   train_dataloader.dataset.datasets.0.ann_file=splits/labelled-1of30-seed1.txt
#   train_dataloader.dataset.datasets.1.ann_file=splits/unlabelled-1of30-seed1.txt
# Section 4.2: 80k iterations, SGD (momentum 0.9), lr 4e-4, poly; 512x512
# crops, batch 7 (labelled) + 7 (unlabelled strong views).
# K = max(1, 256 // 100) = 2.
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d8.py',
    '../_base_/datasets/cityscapes_semi.py',
    '../_base_/schedules/schedule_80k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/cmb.py',
]
num_classes = 19
split = '1of30'
data_root = 'data/cityscapes'
# alpha_c = sqrt(f_m / f_c) of the labelled split (section 4.2) for L_sup
# and L_pseudo: save class_balance_weights(pixel counts per class)
# (mmseg_reco/models/losses/cmb_losses.py) with np.save and set the path here.
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
        pseudo=dict(_base_.cmb_loss.pseudo, class_weight=class_weight))
]
model['strong_aug']['num_classes'] = num_classes

optim_wrapper = dict(optimizer=dict(lr=4e-4))

# Table 1, weak augmentation of labelled images: resize x[0.75, 1.75] with
# probability 0.5, 512x512 crop, flip 0.5 (colour jitter: the method's
# sup_aug)
labelled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegLabels', num_classes=19),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='RandomResize',
                scale=(2048, 1024),
                ratio_range=(0.75, 1.75),
                keep_ratio=True)
        ],
        prob=0.5),
    dict(type='RandomCrop', crop_size=_base_.crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
labelled_dataset = dict(
    _base_.labelled_dataset,
    data_root=data_root,
    ann_file=f'splits/labelled-{split}.txt',
    pipeline=labelled_pipeline)
unlabelled_dataset = dict(
    _base_.unlabelled_dataset,
    data_root=data_root,
    ann_file=f'splits/unlabelled-{split}.txt')
batch_size = 14
num_labelled = 7
train_dataloader = dict(
    batch_size=batch_size,
    sampler=dict(batch_size=batch_size, num_labelled=num_labelled),
    dataset=dict(datasets=[labelled_dataset, unlabelled_dataset]))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
# the global batch these settings were tuned for (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=14)
