# The papers' DeepLabV3+ (ReCo section 4.1 / appendix A; Alonso et al.,
# section 4.2): mmseg's own DeepLabV3+ R50-D8 (ImageNet ResNetV1c, output
# stride 8) with three changes: no auxiliary FCN head (the papers train the
# decoder's loss alone), the cross-entropy averaged over the labelled (non-
# ignored) pixels as the authors' code does, and no padding to a size
# divisor (the training pipelines crop to a fixed size).
_base_ = ['mmseg::_base_/models/deeplabv3plus_r50-d8.py']
norm_cfg = dict(_delete_=True, type='SyncBN', requires_grad=True)
num_classes = 21
data_preprocessor = dict(size_divisor=1)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(
        num_classes=num_classes,
        loss_decode=dict(avg_non_ignore=True)),
    auxiliary_head=None)
