# Class-wise memory bank contrast, Cityscapes 1/15 labelled (199 images), as
# ./cmb_deeplabv2-r101-d8_1xb5-80k_cityscapes-1of30.py (Alonso et al., ICCV
# 2021, arXiv 2104.13415, Table 4 "Ours no adaptation").
#   python tools/make_splits.py ratio --dataset cityscapes \
#       --data-root data/cityscapes_512x1024 --ratio 1/15
_base_ = ['./cmb_deeplabv2-r101-d8_1xb5-80k_cityscapes-1of30.py']
split = '1of15'
_labelled, _unlabelled = _base_.train_dataloader.dataset.datasets
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_labelled, ann_file=f'splits/labelled-{split}.txt'),
        dict(_unlabelled, ann_file=f'splits/unlabelled-{split}.txt'),
    ]))
