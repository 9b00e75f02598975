# Supervised baseline (labelled images only, doubled labelled batch), ReCo Table 1: Pascal VOC 2012 + SBD, 600 class-balanced
# labelled images (python tools/make_splits.py class-balanced
# --dataset voc12aug --num-labelled 600).
_base_ = ['./supervised_deeplabv3plus-r101-d8_1xb20-40k_voc12aug-60lab.py']
split = '600'
train_dataloader = dict(
    dataset=dict(ann_file=f'splits/labelled-{split}.txt'))
# the global batch these settings were tuned for (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=20)
