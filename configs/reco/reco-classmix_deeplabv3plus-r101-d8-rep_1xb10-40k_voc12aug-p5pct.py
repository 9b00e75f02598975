# ReCo + ClassMix (Eq. 6), Table 3: Pascal VOC 2012 + SBD, partial labels,
# 5% of the pixels of each class in each image
# (python tools/make_splits.py partial --dataset voc12aug --share 5%).
_base_ = [
    './reco-classmix_deeplabv3plus-r101-d8-rep_1xb10-40k_voc12aug-p1px.py'
]
split = 'p5pct'
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
