# SUN RGB-D for semi-supervised training: every batch holds 5 labelled and 5
# unlabelled images (ReCo's two loaders of batch 5). The unlabelled weak
# view is a 321x321 crop; the random scale, mixing, flip, colour jitter and
# blur of the strong view run on the device (StrongAugment). Default split:
# ReCo's 50 images (python tools/make_splits.py class-balanced
# --dataset sunrgbd --num-labelled 50).
_base_ = ['./sunrgbd.py']
labelled_split = 'splits/labelled-50.txt'
unlabelled_split = 'splits/unlabelled-50.txt'
batch_size = 10
num_labelled = 5
# ReCo's random scale of the unlabelled strong view (StrongAugment)
strong_scale_range = (0.5, 1.5)
weak_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='Pad', size={{_base_.crop_size}}),
    dict(type='PackSegInputs'),
]
labelled_dataset = dict(
    type={{_base_.dataset_type}},
    data_root={{_base_.data_root}},
    data_prefix={{_base_.train_prefix}},
    ann_file=labelled_split,
    pipeline={{_base_.train_pipeline}})
# reduce_zero_label as the labelled set, so that ConcatDataset sees the
# same meta information (there are no labels to reduce)
unlabelled_dataset = dict(
    type='UnlabelledDataset',
    data_root={{_base_.data_root}},
    data_prefix=dict(img_path='img_dir/train'),
    img_suffix='.jpg',
    ann_file=unlabelled_split,
    metainfo_from={{_base_.dataset_type}},
    reduce_zero_label=True,
    pipeline=weak_pipeline)
train_dataloader = dict(
    batch_size=batch_size,
    sampler=dict(
        _delete_=True,
        type='LabelledUnlabelledSampler',
        batch_size=batch_size,
        num_labelled=num_labelled),
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[labelled_dataset, unlabelled_dataset]))
# the global batch (images per step over all GPUs) these settings were
# tuned for: --auto-scale-lr scales the learning rate linearly from it
auto_scale_lr = dict(enable=False, base_batch_size=batch_size)
