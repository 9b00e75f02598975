# Class-wise memory bank contrast on the demo canvases (60 labelled images,
# the rest unlabelled; 4 + 4 per batch), small DeepLabV3+ from random
# weights on a CPU. Demo changes to the paper's settings: 64-d heads and a
# 200-iteration warm-up (1k iterations in all). |X_l| = 60 -> K = 4.
_base_ = [
    '../_base_/models/deeplabv3plus_r18-d8_demo.py',
    '../_base_/datasets/fashion_canvas_semi.py',
    '../_base_/schedules/schedule_1k.py',
    '../_base_/default_runtime.py',
    '../_base_/methods/cmb.py',
]
num_classes = 11
feat_dim = 64
model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
model['segmentor']['decode_head'] = dict(
    _base_.cmb_head,
    decode_head=_base_.model.decode_head,
    proj_dim=feat_dim,
    proj_hidden=feat_dim,
    attention_hidden=feat_dim,
    norm_cfg=_base_.norm_cfg)
model['method_losses'] = [
    dict(
        _base_.cmb_loss,
        num_classes=num_classes,
        bank=dict(_base_.cmb_loss.bank, feat_dim=feat_dim),
        warmup_iters=200)
]
model['strong_aug']['num_classes'] = num_classes
