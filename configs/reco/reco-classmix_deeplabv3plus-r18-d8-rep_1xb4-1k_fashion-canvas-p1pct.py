# ReCo + ClassMix on the demo canvases with ReCo's partial labels (Table 3
# protocol), 1% of the pixels of each class in each image
# (python tools/make_splits.py partial --dataset fashion_canvas
#  --data-root data/fashion_canvas --share 1%).
_base_ = [
    '../_base_/models/deeplabv3plus_r18-d8_rep_demo.py',
    '../_base_/datasets/fashion_canvas_partial.py',
    '../_base_/schedules/schedule_1k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/reco_classmix_partial.py',
]
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
# the ReCo loss over labelled + unlabelled pixels lives in ReCoTerm
model['segmentor']['decode_head']['loss_rep'] = None
model['strong_aug']['scale_range'] = _base_.strong_scale_range
