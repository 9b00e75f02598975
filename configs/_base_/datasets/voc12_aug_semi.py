# Pascal VOC 2012 + SBD for semi-supervised training: every batch holds 10
# labelled and 10 unlabelled images (ReCo's two loaders of batch 10). The
# unlabelled weak view is a 321x321 crop of the unscaled image; the random
# scale, mixing, flip, colour jitter and blur of the strong view run on the
# device (StrongAugment). Default split: ReCo's 60 class-balanced images
# (python tools/make_splits.py class-balanced --dataset voc12aug
#  --num-labelled 60); a leaf config replaces the two split files.
_base_ = ['./voc12_aug.py']
labelled_split = 'splits/labelled-60.txt'
unlabelled_split = 'splits/unlabelled-60.txt'
batch_size = 20
num_labelled = 10
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
unlabelled_dataset = dict(
    type='UnlabelledDataset',
    data_root={{_base_.data_root}},
    data_prefix=dict(img_path='JPEGImages'),
    img_suffix='.jpg',
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
