# ReCo + ClassMix (Eq. 6): the ClassMix mean teacher plus ReCo's term
# (./reco_term.py) over labelled pixels (ground truth) and unlabelled pixels
# (pseudo-labels with confidence >= 0.7).
_base_ = ['./classmix.py', './reco_term.py']
semi_model = dict(method_losses=[_base_.reco_term])
