# GTA5 (24966 images, labels mapped to the 19 Cityscapes classes by
# tools/convert_gta5.py), validated on Cityscapes val at 512x1024: the
# source-only baseline of the GTA5 -> Cityscapes adaptation (memory-bank
# Alonso et al., ICCV 2021, arXiv 2104.13415, section 4.3.2). GTA5 images
# (1914x1052) are resized to a 512-pixel height, like the 512x1024 Cityscapes
# images, then cropped to 512x512 and flipped.
_base_ = ['./cityscapes.py']
gta5_type = 'GTA5Dataset'
gta5_root = 'data/gta5'
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
    type=gta5_type,
    data_root=gta5_root,
    data_prefix=dict(img_path='images', seg_map_path='labels'),
    ann_file='splits/train.txt',
    pipeline=gta5_pipeline)
train_dataloader = dict(dataset=dict(_delete_=True, **gta5_dataset))
