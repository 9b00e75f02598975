# Supervised baseline of the label-efficiency benchmark (docs/benchmarks.md):
# the 16 images of a step are all labelled, as the authors' supervised
# baseline doubles its labelled batch.
_base_ = [
    '../_base_/models/deeplabv3plus_r18w32-d16_demo.py',
    '../_base_/datasets/fashion_canvas_semi_bench.py',
    '../_base_/schedules/schedule_2k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/supervised.py',
]
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
train_dataloader = dict(sampler=dict(num_labelled=_base_.batch_size))
