# Your own images (docs/custom_data.md): a folder of labelled images with a
# folder of label maps, a bare folder of unlabelled images (any number, no
# label maps, no split file) and a labelled validation folder:
#   <data_root>/train/images/<stem><img_suffix>
#   <data_root>/train/labels/<stem>.png   class ids 0..C-1, 255 = ignore
#   <data_root>/unlabelled/<any name><img_suffix>
#   <data_root>/val/images/<stem><img_suffix>, val/labels/<stem>.png
# Every batch holds ``num_labelled`` labelled images and the rest unlabelled,
# as in the other ``*_semi.py`` bases. Each label's class ids are checked
# against ``metainfo`` when it is loaded (FolderSegDataset inserts the check).
# Copy this file and edit the block below; the leaf config sets the model's
# class count from ``metainfo``.
# ---------------------------------------------------------------- your data
data_root = 'data/my_data'
metainfo = dict(
    classes=('background', 'T-shirt/top', 'Trouser', 'Pullover', 'Dress',
             'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'),
    palette=[[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25],
             [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240],
             [240, 50, 230], [210, 245, 60], [250, 190, 212]])
img_suffix = '.png'
# images are rescaled to fit ``img_scale`` (width, height; keep ratio) times a
# random ratio in ``ratio_range``, then cropped to ``crop_size`` (padded with
# ignore where smaller); e.g. photos: (2048, 512), (0.5, 2.0), (512, 512)
img_scale = (64, 64)
ratio_range = (1.0, 1.5)
crop_size = (64, 64)
batch_size = 8
num_labelled = 4
# --------------------------------------------------------------------------
# the random scale of the unlabelled strong view (StrongAugment)
strong_scale_range = ratio_range
labelled_prefix = dict(img_path='train/images', seg_map_path='train/labels')
val_prefix = dict(img_path='val/images', seg_map_path='val/labels')
unlabelled_prefix = dict(img_path='unlabelled')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=img_scale,
        ratio_range=ratio_range,
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=crop_size, pad_val=dict(img=0, seg=255)),
    dict(type='PackSegInputs'),
]
# unlabelled weak view: the labelled images' scale without the random ratio
weak_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='Pad', size=crop_size, pad_val=dict(img=0, seg=255)),
    dict(type='PackSegInputs'),
]
# evaluated at the stored resolution; for large images put
# dict(type='Resize', scale=img_scale, keep_ratio=True) before
# LoadAnnotations (predictions are scored at the stored size)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
labelled_dataset = dict(
    type='FolderSegDataset',
    data_root=data_root,
    data_prefix=labelled_prefix,
    img_suffix=img_suffix,
    metainfo=metainfo,
    pipeline=train_pipeline)
# an unlabelled image that cannot be read is skipped (another is drawn in
# its place) and counted; 'raise' stops the run on it instead
unlabelled_dataset = dict(
    type='UnlabelledDataset',
    data_root=data_root,
    data_prefix=unlabelled_prefix,
    img_suffix=img_suffix,
    metainfo=metainfo,
    on_unreadable='skip',
    pipeline=weak_pipeline)
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(
        type='LabelledUnlabelledSampler',
        batch_size=batch_size,
        num_labelled=num_labelled),
    dataset=dict(
        type='ConcatDataset',
        datasets=[labelled_dataset, unlabelled_dataset]))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='FolderSegDataset',
        data_root=data_root,
        data_prefix=val_prefix,
        img_suffix=img_suffix,
        metainfo=metainfo,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# mmseg's IoUMetric, plus one 'IoU.<class>' key per class in scalars.json
val_evaluator = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
# logs the count and first names of the skipped unlabelled images at every
# log interval; the leaf adds it to its method's hooks:
#   custom_hooks = _base_.custom_hooks + _base_.data_hooks
data_hooks = [dict(type='UnreadableImageHook')]
# the global batch (images per step over all GPUs) these settings were
# tuned for: --auto-scale-lr scales the learning rate linearly from it
auto_scale_lr = dict(enable=False, base_batch_size=batch_size)
