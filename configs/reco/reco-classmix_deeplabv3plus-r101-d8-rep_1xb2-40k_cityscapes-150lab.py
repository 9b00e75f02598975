# ReCo + ClassMix (Eq. 6), ReCo Table 1: Cityscapes, 150 class-balanced
# labelled images (python tools/make_splits.py class-balanced
# --dataset cityscapes --num-labelled 150).
_base_ = [
    './reco-classmix_deeplabv3plus-r101-d8-rep_1xb2-40k_cityscapes-20lab.py'
]
split = '150'
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.labelled_dataset, ann_file=f'splits/labelled-{split}.txt'),
        dict(
            _base_.unlabelled_dataset,
            ann_file=f'splits/unlabelled-{split}.txt'),
    ]))
