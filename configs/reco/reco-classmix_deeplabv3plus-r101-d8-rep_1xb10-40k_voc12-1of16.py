# ReCo + ClassMix (Eq. 6), ReCo Table 2 (PseudoSeg protocol): 92 labelled
# images (1/16) drawn from the 1464 VOC train images, the rest of the 10582
# augmented set unlabelled (python tools/make_splits.py voc1464 --ratio 1/16).
# Choice: ReCo's VOC training of Table 1 (batch 10 + 10, 40k iterations).
_base_ = [
    './reco-classmix_deeplabv3plus-r101-d8-rep_1xb10-40k_voc12aug-60lab.py'
]
split = 'voc1464-1of16'
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.labelled_dataset, ann_file=f'splits/labelled-{split}.txt'),
        dict(
            _base_.unlabelled_dataset,
            ann_file=f'splits/unlabelled-{split}.txt'),
    ]))
