# ReCo + UniMatch: UniMatch (./unimatch.py) plus ReCo's term (./reco_term.py)
# over the labelled pixels and both strong views' pixels, at the supervised
# loss's weight (sup_weight 0.5, read at run time).
_base_ = ['./unimatch.py', './reco_term.py']
semi_model = dict(method_losses=[
    _base_.weak_to_strong, _base_.feature_perturbation, _base_.reco_term
])
