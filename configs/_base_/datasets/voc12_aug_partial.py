# Pascal VOC 2012 + SBD with ReCo's partial labels ("Partial Labels Full
# Dataset", ReCo, arXiv 2104.04465 section 4.1, Table 3). Every training image
# is labelled, but only on a few pixels per class (label folder <train label
# folder>_<split>, e.g. SegmentationClassAug_p1pct), and is also unlabelled:
# its weak view keeps the partial labels (MarkUnlabelled), which override the
# teacher's pseudo-labels where they exist
# (SemiSegmentor.merge_partial_labels). Both split files list the whole
# training set. Batches as in ./voc12_aug_semi.py: 10 labelled + 10 unlabelled.
# Default split: 1% of the pixels of each class (python tools/make_splits.py
# partial --dataset voc12aug --share 1%).
_base_ = ['./voc12_aug_semi.py']
partial_split = 'p1pct'
labelled_split = f'splits/labelled-{partial_split}.txt'
unlabelled_split = f'splits/unlabelled-{partial_split}.txt'
partial_prefix = dict(
    _base_.train_prefix,
    seg_map_path=f"{_base_.train_prefix['seg_map_path']}_{partial_split}")
# mmseg's PackSegInputs meta keys plus MarkUnlabelled's marker
unlabelled_meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                        'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                        'reduce_zero_label', 'unlabelled')
# the weak view of ./voc12_aug_semi.py, with the partial labels
partial_weak_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegLabels', num_classes=21),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='Pad', size={{_base_.crop_size}}),
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
# replace, not update, the base's UnlabelledDataset config (leaf configs
# read this variable)
unlabelled_dataset = dict(unlabelled_dataset, _delete_=True)
