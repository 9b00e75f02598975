# Supervised baseline of the memory-bank paper (Alonso et al., ICCV 2021,
# arXiv 2104.13415), Table 3 (Pascal VOC, DeepLabV3+ ResNet-50, ImageNet): 1/8
# of the training images labelled (python tools/make_splits.py ratio --dataset
# voc12aug --ratio 1/8).
# The labelled images only: the memory-bank config's model without CMBHead's
# projection/attention heads, its labelled pipeline, weak colour jitter,
# optimiser, schedule and labelled batch; no unlabelled images, no teacher,
# no bank; the student is evaluated (the paper's L_sup-only baseline,
# Table 5 first row).
_base_ = ['./cmb_deeplabv3plus-r50-d8_1xb20-80k_voc12aug-1of8.py']
model = dict(
    segmentor=dict(
        decode_head=dict(
            _delete_=True, **_base_.model.segmentor.decode_head.decode_head)),
    strong_aug=None,
    method_losses=[],
    semi_test_cfg=dict(predict_on='student'))
custom_hooks = []
split = '1of8'
train_dataloader = dict(
    batch_size=20,
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        **dict(
            _base_.train_dataloader.dataset.datasets[0],
            ann_file=f'splits/labelled-{split}.txt')))
# the global batch these settings were tuned for (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=20)
