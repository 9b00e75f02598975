# ReCo + FixMatch: FixMatch (./fixmatch.py) plus ReCo's term (./reco_term.py)
# over the labelled pixels and the strong view's pixels, at the supervised
# loss's weight (sup_weight 0.5, read at run time).
_base_ = ['./fixmatch.py', './reco_term.py']
semi_model = dict(method_losses=[_base_.weak_to_strong, _base_.reco_term])
