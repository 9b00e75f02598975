# ReCo + ClassMix (Eq. 6): the ClassMix mean teacher plus the ReCo loss over
# labelled pixels (ground truth) and unlabelled pixels (pseudo-labels with
# confidence >= 0.7). The model must carry a RepresentationHead whose own
# loss_rep is None (the loss lives in ReCoTerm).
_base_ = ['./classmix.py']
semi_model = dict(method_losses=[
    dict(
        type='ReCoTerm',
        weak_threshold=0.7,
        loss=dict(type='ReCoLoss', strong_threshold=0.97, temperature=0.5))
])
