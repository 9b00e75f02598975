# Cityscapes (512x1024) for semi-supervised training: every batch holds 2
# labelled and 2 unlabelled images (ReCo's two loaders of batch 2). The
# unlabelled weak view is a 512x512 crop; mixing, flip, colour jitter and
# blur of the strong view run on the device (StrongAugment). Default split:
# ReCo's 20 class-balanced images (python tools/make_splits.py
# class-balanced --dataset cityscapes --num-labelled 20).
_base_ = ['./cityscapes.py']
labelled_split = 'splits/labelled-20.txt'
unlabelled_split = 'splits/unlabelled-20.txt'
batch_size = 4
num_labelled = 2
# ReCo's random scale of the unlabelled strong view: none for Cityscapes
strong_scale_range = (1.0, 1.0)
weak_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='PackSegInputs'),
]
labelled_dataset = dict(
    type={{_base_.dataset_type}},
    data_root={{_base_.data_root}},
    data_prefix={{_base_.train_prefix}},
    ann_file=labelled_split,
    pipeline={{_base_.train_pipeline}})
unlabelled_dataset = dict(
    type='UnlabelledDataset',
    data_root={{_base_.data_root}},
    data_prefix=dict(img_path='leftImg8bit/train'),
    img_suffix='_leftImg8bit.png',
    ann_file=unlabelled_split,
    metainfo_from={{_base_.dataset_type}},
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
