_base_ = [
    '../_base_/models/deeplabv3plus_r18-d8_rep_demo.py',
    '../_base_/datasets/fashion_canvas_semi.py',
    '../_base_/schedules/schedule_1k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/reco_fixmatch.py',
]
# the ReCo loss over labelled + unlabelled pixels lives in ReCoTerm
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
model['segmentor']['decode_head']['loss_rep'] = None
model['strong_aug']['scale_range'] = _base_.strong_scale_range
