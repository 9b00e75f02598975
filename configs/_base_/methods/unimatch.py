# UniMatch (Yang et al., CVPR 2023, arXiv 2208.09910; github.com/LiheYoung/
# UniMatch, unimatch.py): FixMatch (./fixmatch.py) with two strong views of
# every unlabelled image (dual-stream perturbation, Sec. 3.3; each view has
# its own CutMix box, jitter and blur) and the feature-perturbation stream
# (Sec. 3.2: channel dropout 0.5 on the weak view's encoder features,
# decoded by the same head). The authors' total
#   (sup + 0.25 s1 + 0.25 s2 + 0.5 fp) / 2
# is written as sup_weight 0.5, 0.125 per strong view and 0.25 for fp.
_base_ = ['./fixmatch.py']
weak_to_strong = dict(
    type='WeakToStrongTerm', threshold=0.95, loss_weight=0.25 / 2)
feature_perturbation = dict(
    type='FeaturePerturbationTerm',
    perturbation=dict(type='FeatureDropout', p=0.5),
    threshold=0.95,
    loss_weight=0.5 / 2)
semi_model = dict(
    method_losses=[weak_to_strong, feature_perturbation],
    semi_train_cfg=dict(strong_views=2))
