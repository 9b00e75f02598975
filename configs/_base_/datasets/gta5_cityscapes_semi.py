# Semi-supervised domain adaptation GTA5 -> Cityscapes (memory-bank paper
# 003, section 4.3.2): the labelled set is every GTA5 image plus a labelled
# split of Cityscapes (1/30, 1/15, 1/6 or 1/3 of the 2975 images:
# python tools/make_splits.py ratio --dataset cityscapes --ratio 1/30), the
# unlabelled set the rest of Cityscapes; validation on Cityscapes val.
# Each batch holds 2 labelled images (drawn uniformly from GTA5 + labelled
# Cityscapes) and 2 unlabelled Cityscapes images. To draw the labelled
# Cityscapes images more often, wrap them in
# dict(type='RepeatDataset', times=k, dataset=...) in a leaf config.
_base_ = ['./cityscapes_semi.py']
labelled_split = 'splits/labelled-1of30.txt'
unlabelled_split = 'splits/unlabelled-1of30.txt'
# GTA5 as in ./gta5.py (a config cannot inherit both files: they share
# their Cityscapes base)
gta5_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegLabels', num_classes=19),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
gta5_dataset = dict(
    type='GTA5Dataset',
    data_root='data/gta5',
    data_prefix=dict(img_path='images', seg_map_path='labels'),
    ann_file='splits/train.txt',
    pipeline=gta5_pipeline)
city_labelled_dataset = dict(
    type={{_base_.dataset_type}},
    data_root={{_base_.data_root}},
    data_prefix={{_base_.train_prefix}},
    ann_file=labelled_split,
    pipeline={{_base_.train_pipeline}})
labelled_dataset = dict(
    type='ConcatDataset',
    datasets=[gta5_dataset, city_labelled_dataset])
unlabelled_dataset = dict(
    type='UnlabelledDataset',
    data_root={{_base_.data_root}},
    data_prefix=dict(img_path='leftImg8bit/train'),
    img_suffix='_leftImg8bit.png',
    ann_file=unlabelled_split,
    metainfo_from={{_base_.dataset_type}},
    pipeline={{_base_.weak_pipeline}})
train_dataloader = dict(
    batch_size={{_base_.batch_size}},
    sampler=dict(
        _delete_=True,
        type='LabelledUnlabelledSampler',
        batch_size={{_base_.batch_size}},
        num_labelled={{_base_.num_labelled}}),
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[labelled_dataset, unlabelled_dataset]))
