# Cityscapes (2975 train / 500 val, 19 classes) as ReCo uses it (appendix A):
# every image downsampled to 512x1024 beforehand
# (tools/convert_cityscapes.py), 512x512 random crops, horizontal flip, no
# random scale (the authors' code: scale 1.0); colour jitter and blur run on
# the device (the method's ``sup_aug``). Evaluation at 512x1024.
dataset_type = 'CityscapesSplitDataset'
data_root = 'data/cityscapes_512x1024'
crop_size = (512, 512)
# '' lists the whole training folder; semi bases use a labelled split
labelled_split = ''
train_prefix = dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegLabels', num_classes=19),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegLabels', num_classes=19),
    dict(type='PackSegInputs'),
]
labelled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    data_prefix=train_prefix,
    ann_file=labelled_split,
    pipeline=train_pipeline)
# fully supervised: ReCo doubles the labelled batch of 2
train_dataloader = dict(
    batch_size=4,
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
            img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# mmseg's IoUMetric, plus one 'IoU.<class>' key per class in scalars.json
val_evaluator = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
