# Class-wise memory bank contrast on the label-efficiency benchmark
# (docs/benchmarks.md): 64-d heads, the warm-up a fifth of the run.
_base_ = [
    '../_base_/models/deeplabv3plus_r18w32-d16_demo.py',
    '../_base_/datasets/fashion_canvas_semi_bench.py',
    '../_base_/schedules/schedule_2k.py',
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
        warmup_iters=_base_.max_iters // 5)
]
model['strong_aug']['num_classes'] = num_classes
