# UniMatch, UniMatch Table 1 (original VOC protocol): 1464 labelled images
# drawn from the 1464 VOC 2012 train images, the rest of the 10582
# augmented set unlabelled (python tools/make_splits.py voc1464 --all).
_base_ = ['./unimatch_deeplabv3plus-r101-d8_1xb10-40k_voc12aug-1of16.py']
split = 'voc1464-all'
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.labelled_dataset, ann_file=f'splits/labelled-{split}.txt'),
        dict(
            _base_.unlabelled_dataset,
            ann_file=f'splits/unlabelled-{split}.txt'),
    ]))
