# VOC Aug, 1/8 labelled
# (python tools/make_splits.py ratio --dataset voc12aug --ratio 1/8).
# RC2L's supervised baseline (Zhang et al., IJCAI 2022, Tables 1-2: "an
# original MaskFormer" trained on the labelled data): the RC2L config's
# region model, optimiser, schedule and labelled pipeline; the paper's batch
# of 16, all labelled; no unlabelled images, no teacher; the student is
# evaluated.
_base_ = ['./rc2l_region-r101_1xb8-160k_voc12aug-1of8.py']
model = dict(
    strong_aug=None,
    method_losses=[],
    semi_test_cfg=dict(predict_on='student'))
custom_hooks = []
train_dataloader = dict(
    batch_size=16,
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),
    # the RC2L leaf's labelled dataset (its split file) alone
    dataset=dict(_delete_=True, **_base_.train_dataloader.dataset.datasets[0]))
