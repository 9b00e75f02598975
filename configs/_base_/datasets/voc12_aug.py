# Pascal VOC 2012 + SBD (10582 train / 1449 val, 21 classes), ReCo appendix
# A: random scale 0.5-1.5 of the image, 321x321 crops, horizontal flip
# (colour jitter and blur run on the device: the method's ``sup_aug``).
# Labels: SegmentationClassAug from tools/convert_voc_aug.py; splits from
# tools/make_splits.py (docs/datasets.md).
dataset_type = 'VOCAugDataset'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = (321, 321)
# VOC images are at most 500 pixels on the long side: scaling the target
# (500, 500) by r in [0.5, 1.5] with keep_ratio scales such an image by r.
scale = (500, 500)
ratio_range = (0.5, 1.5)
# the full training list; semi bases replace it with a labelled split
labelled_split = 'ImageSets/Segmentation/train_aug.txt'
train_prefix = dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegLabels', num_classes=21),
    dict(
        type='RandomResize',
        scale=scale,
        ratio_range=ratio_range,
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    # images smaller than the crop: pad with 0 (labels with 255 = ignore)
    dict(type='Pad', size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
# ReCo evaluates at the original resolution
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegLabels', num_classes=21),
    dict(type='PackSegInputs'),
]
labelled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    data_prefix=train_prefix,
    ann_file=labelled_split,
    pipeline=train_pipeline)
# fully supervised: ReCo doubles the labelled batch of 10 (no unlabelled
# images)
train_dataloader = dict(
    batch_size=20,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=labelled_dataset)
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# mmseg's IoUMetric, plus one 'IoU.<class>' key per class in scalars.json
val_evaluator = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
