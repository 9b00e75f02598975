# ReCo + ClassMix (Eq. 6), Table 3: Cityscapes, partial labels,
# 1% of the pixels of each class in each image
# (python tools/make_splits.py partial --dataset cityscapes --share 1%).
_base_ = [
    './reco-classmix_deeplabv3plus-r101-d8-rep_1xb2-40k_cityscapes-p1px.py'
]
split = 'p1pct'
# partial labels in <train label folder>_<split>
partial_prefix = dict(
    _base_.train_prefix,
    seg_map_path=f"{_base_.train_prefix['seg_map_path']}_{split}")
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(
            _base_.labelled_dataset,
            ann_file=f'splits/labelled-{split}.txt',
            data_prefix=partial_prefix),
        dict(
            _base_.unlabelled_dataset,
            ann_file=f'splits/unlabelled-{split}.txt',
            data_prefix=partial_prefix),
    ]))
