# ReCo + ClassMix (Eq. 6), ReCo Table 1: SUN RGB-D, 500 class-balanced
# labelled images (python tools/make_splits.py class-balanced
# --dataset sunrgbd --num-labelled 500).
_base_ = [
    './reco-classmix_deeplabv3plus-r101-d8-rep_1xb5-40k_sunrgbd-50lab.py'
]
split = '500'
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.labelled_dataset, ann_file=f'splits/labelled-{split}.txt'),
        dict(
            _base_.unlabelled_dataset,
            ann_file=f'splits/unlabelled-{split}.txt'),
    ]))
