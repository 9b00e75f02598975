# RC2L (Zhang et al., IJCAI 2022, Tables 1-2): 1/16 (662) labelled images,
# split files from: python tools/make_splits.py ratio --dataset voc12aug --ratio 1/16
# section 4.1: batch 16 (8 labelled + 8 unlabelled), 512x512 crops,
# 160k iterations, alpha = 1.0 (Table 4).
_base_ = [
    '../_base_/models/region_r101.py',
    '../_base_/datasets/voc12_aug_semi.py',
    '../_base_/schedules/schedule_160k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/rc2l.py',
]
crop_size = (512, 512)
split = '1of16'
batch_size = 16
# the paper's crop size in both training pipelines
_sized = dict(RandomCrop=dict(crop_size=crop_size), Pad=dict(size=crop_size))
labelled_pipeline = [
    dict(t, **_sized.get(t['type'], {}))
    for t in _base_.labelled_dataset['pipeline']
]
weak_pipeline = [
    dict(t, **_sized.get(t['type'], {}))
    for t in _base_.unlabelled_dataset['pipeline']
]
train_dataloader = dict(
    batch_size=batch_size,
    sampler=dict(batch_size=batch_size, num_labelled=batch_size // 2),
    dataset=dict(datasets=[
        dict(
            _base_.labelled_dataset,
            ann_file=f'splits/labelled-{split}.txt',
            pipeline=labelled_pipeline),
        dict(
            _base_.unlabelled_dataset,
            ann_file=f'splits/unlabelled-{split}.txt',
            pipeline=weak_pipeline),
    ]))
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
# the strong view's random rescale: the dataset's range (choice, see
# _base_/methods/rc2l.py)
model['strong_aug']['scale_range'] = _base_.strong_scale_range
model['segmentor']['decode_head']['num_classes'] = 21
model['method_losses'][0]['alpha'] = 1.0
optim_wrapper = dict(_delete_=True, **_base_.rc2l_optim_wrapper)
# the global batch these settings were tuned for (--auto-scale-lr)
auto_scale_lr = dict(enable=False, base_batch_size=16)
