# The benchmark's narrow DeepLabV3+ with ReCo's representation head
# (tapped at ``sep_bottleneck``, as in the paper's model).
_base_ = ['./deeplabv3plus_r18w32-d16_demo.py']
model = dict(
    decode_head=dict(
        _delete_=True,
        type='RepresentationHead',
        decode_head=_base_.model.decode_head,
        rep_dim=128,
        tap='sep_bottleneck',
        norm_cfg=_base_.norm_cfg,
        loss_rep=dict(type='ReCoLoss', num_queries=128, num_negatives=256)))
