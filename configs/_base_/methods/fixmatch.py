# FixMatch for segmentation as UniMatch's authors re-implement it (Yang et
# al., CVPR 2023, arXiv 2208.09910, Sec. 3.1; github.com/LiheYoung/UniMatch,
# fixmatch.py). A leaf config wraps its plain segmentor:
#   model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
#   model['strong_aug']['scale_range'] = _base_.strong_scale_range
# No EMA teacher: the student pseudo-labels the weak view in its own
# training pass over the labelled and weak images (no gradient through the
# pseudo-labels), so there is no MeanTeacherHook.
# Strong view: CutMix with a partner of the batch, colour jitter (p=0.8,
# brightness, contrast and saturation in U(0.5, 1.5), hue in U(-0.25,
# 0.25)) and Gaussian blur (p=0.5, sigma in U(0.1, 2.0)), the authors'
# ranges; the project's StrongAugment has no random grayscale, pastes a box
# of half the image every time (the authors: p=0.5, area U(0.02, 0.4)) and
# flips the strong view with its pseudo-labels.
strong_aug = dict(
    type='StrongAugment',
    mix='cutmix',
    brightness=(0.5, 1.5),
    contrast=(0.5, 1.5),
    saturation=(0.5, 1.5),
    hue=(-0.25, 0.25),
    blur_sigma=(0.1, 2.0))
# total = (sup + unsup) / 2: each term at weight 0.5
sup_weight = 0.5
weak_to_strong = dict(type='WeakToStrongTerm', threshold=0.95, loss_weight=0.5)
semi_model = dict(
    type='SemiSegmentor',
    teacher='self',
    strong_aug=strong_aug,
    # the authors' labelled images get no photometric augmentation
    sup_aug=None,
    # the unlabelled loss is WeakToStrongTerm's (CE on pixels with
    # confidence >= 0.95, averaged over all valid pixels)
    pseudo_loss=None,
    method_losses=[weak_to_strong],
    semi_train_cfg=dict(
        sup_weight=sup_weight, strong_views=1, student_forward='separate'),
    # one network: it is evaluated
    semi_test_cfg=dict(predict_on='student'))
custom_hooks = []
