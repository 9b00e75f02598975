# FixMatch on the label-efficiency benchmark (docs/benchmarks.md).
_base_ = [
    '../_base_/models/deeplabv3plus_r18w32-d16_demo.py',
    '../_base_/datasets/fashion_canvas_semi_bench.py',
    '../_base_/schedules/schedule_2k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/fixmatch.py',
]
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
model['strong_aug']['scale_range'] = _base_.strong_scale_range
