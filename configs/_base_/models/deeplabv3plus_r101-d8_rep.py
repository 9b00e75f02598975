# ReCo's model: DeepLabV3+ ResNet-101 plus the representation head, which
# branches off the 304-channel concatenation of ASPP and low-level features
# (the input of ``sep_bottleneck``), trained with CE + ReCo (Eq. 5).
_base_ = ['./deeplabv3plus_r101-d8.py']
model = dict(
    decode_head=dict(
        _delete_=True,
        type='RepresentationHead',
        decode_head=_base_.model.decode_head,
        rep_dim=256,
        tap='sep_bottleneck',
        norm_cfg=_base_.norm_cfg,
        loss_rep=dict(type='ReCoLoss', loss_weight=1.0)))
