# SUN RGB-D, 37 classes, ReCo's re-split (9860 train / 475 val) at 384x512
# (tools/convert_sunrgbd.py). ReCo appendix A: random scale 0.5-1.5, 321x321
# crops, horizontal flip (colour jitter and blur on the device: the method's
# ``sup_aug``). Evaluation at 384x512.
dataset_type = 'SUNRGBDDataset'
data_root = 'data/sunrgbd'
crop_size = (321, 321)
# images are 512x384 (width x height): this target scaled by r in
# [0.5, 1.5] with keep_ratio scales them by r
scale = (512, 384)
ratio_range = (0.5, 1.5)
labelled_split = 'splits/train.txt'
train_prefix = dict(img_path='img_dir/train', seg_map_path='ann_dir/train')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegLabels', num_classes=37),
    dict(
        type='RandomResize',
        scale=scale,
        ratio_range=ratio_range,
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='Pad', size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegLabels', num_classes=37),
    dict(type='PackSegInputs'),
]
labelled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    data_prefix=train_prefix,
    ann_file=labelled_split,
    pipeline=train_pipeline)
# fully supervised: ReCo doubles the labelled batch of 5
train_dataloader = dict(
    batch_size=10,
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
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        ann_file='splits/val.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# mmseg's IoUMetric, plus one 'IoU.<class>' key per class in scalars.json
val_evaluator = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
