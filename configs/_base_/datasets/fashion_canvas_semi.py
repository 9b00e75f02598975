# Fashion-MNIST canvases for semi-supervised training: every batch holds
# ``num_labelled`` labelled images and the rest unlabelled (image list only).
# The unlabelled images go through the weak pipeline (resize, crop, flip);
# their strong views are built on the device by the model (StrongAugment).
_base_ = ['./fashion_canvas.py']
labelled_split = 'splits/labelled-60.txt'
unlabelled_split = 'splits/unlabelled-60.txt'
batch_size = 8
num_labelled = 4
weak_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResize',
        scale={{_base_.crop_size}},
        ratio_range=(1.0, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='RandomFlip', prob=0.5),
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
