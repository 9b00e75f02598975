# ReCo + ClassMix (Eq. 6), ReCo Table 1: Pascal VOC 2012 + SBD, 200 class-balanced
# labelled images (python tools/make_splits.py class-balanced
# --dataset voc12aug --num-labelled 200).
_base_ = [
    './reco-classmix_deeplabv3plus-r101-d8-rep_1xb10-40k_voc12aug-60lab.py'
]
split = '200'
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.labelled_dataset, ann_file=f'splits/labelled-{split}.txt'),
        dict(
            _base_.unlabelled_dataset,
            ann_file=f'splits/unlabelled-{split}.txt'),
    ]))
