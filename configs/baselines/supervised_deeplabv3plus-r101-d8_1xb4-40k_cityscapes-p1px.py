# Supervised baseline, ReCo Table 3: Cityscapes, partial labels,
# 1 labelled pixel per class per image
# (python tools/make_splits.py partial --dataset cityscapes --share 1px): every
# training image, only its partial labels, the labelled batch
# doubled as in Table 1.
_base_ = ['./supervised_deeplabv3plus-r101-d8_1xb4-40k_cityscapes-20lab.py']
split = 'p1px'
# partial labels in <train label folder>_<split>
partial_prefix = dict(
    _base_.train_prefix,
    seg_map_path=f"{_base_.train_prefix['seg_map_path']}_{split}")
train_dataloader = dict(
    dataset=dict(
        ann_file=f'splits/labelled-{split}.txt', data_prefix=partial_prefix))
