# Fashion-MNIST canvases for semi-supervised training: every batch holds
# ``num_labelled`` labelled images and the rest unlabelled (image list only).
# The unlabelled weak view is a crop of the unscaled canvas, as the teacher
# sees test canvases (the authors' unlabelled loader: scale (1, 1), no
# augmentation); the strong view's random rescale (``strong_scale_range``,
# the labelled pipeline's range), mixing, flip, colour jitter and blur run on
# the device (StrongAugment), so the student sees the same zoom range on
# labelled and unlabelled canvases.
_base_ = ['./fashion_canvas.py']
labelled_split = 'splits/labelled-60.txt'
unlabelled_split = 'splits/unlabelled-60.txt'
batch_size = 8
num_labelled = 4
# the random scale of the unlabelled strong view (StrongAugment)
strong_scale_range = (1.0, 1.5)
weak_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='Pad', size={{_base_.crop_size}}, pad_val=dict(img=0, seg=255)),
    dict(type='PackSegInputs'),
]
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
        datasets=[
            dict(
                type={{_base_.dataset_type}},
                data_root={{_base_.data_root}},
                data_prefix=dict(
                    img_path='img_dir/train', seg_map_path='ann_dir/train'),
                ann_file=labelled_split,
                pipeline={{_base_.train_pipeline}}),
            dict(
                type='UnlabelledDataset',
                data_root={{_base_.data_root}},
                data_prefix=dict(img_path='img_dir/train'),
                ann_file=unlabelled_split,
                metainfo_from={{_base_.dataset_type}},
                img_suffix='.png',
                pipeline=weak_pipeline),
        ]))
# the global batch (images per step over all GPUs) these settings were
# tuned for: --auto-scale-lr scales the learning rate linearly from it
auto_scale_lr = dict(enable=False, base_batch_size=batch_size)
