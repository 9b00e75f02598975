# Supervised baseline (labelled images only, doubled labelled batch), ReCo Table 1: Cityscapes, 150 class-balanced
# labelled images (python tools/make_splits.py class-balanced
# --dataset cityscapes --num-labelled 150).
_base_ = ['./supervised_deeplabv3plus-r101-d8_1xb4-40k_cityscapes-20lab.py']
split = '150'
train_dataloader = dict(
    dataset=dict(ann_file=f'splits/labelled-{split}.txt'))
# the global batch these settings were tuned for (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=4)
