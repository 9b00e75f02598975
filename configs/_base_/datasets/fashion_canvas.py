# Fashion-MNIST canvases (tools/prepare_demo.py): 64x64, 11 classes.
dataset_type = 'FashionCanvasDataset'
data_root = 'data/fashion_canvas'
crop_size = (64, 64)
# labelled split: a file of image stems; 'splits/train.txt' is every image
labelled_split = 'splits/train.txt'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegLabels', num_classes=11),
    dict(
        type='RandomResize',
        scale=crop_size,
        ratio_range=(1.0, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    # images smaller than the crop: pad (label: ignore) so batches stack
    dict(type='Pad', size=crop_size, pad_val=dict(img=0, seg=255)),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegLabels', num_classes=11),
    dict(type='PackSegInputs'),
]
labelled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
    ann_file=labelled_split,
    pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=labelled_dataset)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
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
