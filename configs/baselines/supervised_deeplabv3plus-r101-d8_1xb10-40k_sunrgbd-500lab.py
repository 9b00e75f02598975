# Supervised baseline (labelled images only, doubled labelled batch), ReCo Table 1: SUN RGB-D, 500 class-balanced
# labelled images (python tools/make_splits.py class-balanced
# --dataset sunrgbd --num-labelled 500).
_base_ = ['./supervised_deeplabv3plus-r101-d8_1xb10-40k_sunrgbd-50lab.py']
split = '500'
train_dataloader = dict(
    dataset=dict(ann_file=f'splits/labelled-{split}.txt'))
# the global batch these settings were tuned for (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=10)
