# Fashion-MNIST canvases (demo) with ReCo's partial labels ("Partial Labels
# Full Dataset", ReCo, arXiv 2104.04465 section 4.1, Table 3), laid out as the
# paper datasets' ./*_partial.py: every training image is labelled on a few
# pixels per class (ann_dir/train_<split>) and is also unlabelled, keeping its
# partial labels (MarkUnlabelled) in the weak view. Batches as in
# ./fashion_canvas_semi.py. Default split: 1% of the pixels of each class
# (python tools/make_splits.py partial --dataset fashion_canvas
#  --data-root data/fashion_canvas --share 1%).
_base_ = ['./fashion_canvas_semi.py']
partial_split = 'p1pct'
labelled_split = f'splits/labelled-{partial_split}.txt'
unlabelled_split = f'splits/unlabelled-{partial_split}.txt'
train_prefix = dict(img_path='img_dir/train', seg_map_path='ann_dir/train')
partial_prefix = dict(
    train_prefix, seg_map_path=f'ann_dir/train_{partial_split}')
# mmseg's PackSegInputs meta keys plus MarkUnlabelled's marker
unlabelled_meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                        'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                        'reduce_zero_label', 'unlabelled')
# the weak view of ./fashion_canvas_semi.py, with the partial labels
partial_weak_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegLabels', num_classes=11),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='Pad', size={{_base_.crop_size}}, pad_val=dict(img=0, seg=255)),
    dict(type='MarkUnlabelled'),
    dict(type='PackSegInputs', meta_keys=unlabelled_meta_keys),
]
labelled_dataset = dict(
    type={{_base_.dataset_type}},
    data_root={{_base_.data_root}},
    data_prefix=partial_prefix,
    ann_file=labelled_split,
    pipeline={{_base_.train_pipeline}})
# the same images and labels through the weak pipeline
unlabelled_dataset = dict(
    labelled_dataset,
    ann_file=unlabelled_split,
    pipeline=partial_weak_pipeline)
train_dataloader = dict(
    dataset=dict(datasets=[labelled_dataset, unlabelled_dataset]))
