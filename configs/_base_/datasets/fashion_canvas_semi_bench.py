# The label-efficiency benchmark's batches on the demo canvases
# (docs/benchmarks.md): 8 labelled + 8 unlabelled canvases a step (the
# Supervised baseline fills all 16 with labelled ones), the class-balanced
# split of 10 labelled canvases (tools/make_splits.py class-balanced
# --num-labelled 10), validation at batch 16. Everything else as
# ./fashion_canvas_semi.py.
_base_ = ['./fashion_canvas_semi.py']
labelled_split = 'splits/labelled-10.txt'
unlabelled_split = 'splits/unlabelled-10.txt'
batch_size = 16
num_labelled = 8
train_dataloader = dict(
    batch_size=batch_size,
    sampler=dict(batch_size=batch_size, num_labelled=num_labelled),
    dataset=dict(datasets=[
        dict(_base_.train_dataloader.dataset.datasets[0],
             ann_file=labelled_split),
        dict(_base_.train_dataloader.dataset.datasets[1],
             ann_file=unlabelled_split),
    ]))
val_dataloader = dict(batch_size=16)
test_dataloader = val_dataloader
auto_scale_lr = dict(enable=False, base_batch_size=batch_size)
