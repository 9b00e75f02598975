# ReCo + FixMatch: FixMatch (./fixmatch.py) plus ReCo's regional contrast
# (Liu et al., ICLR 2022, arXiv 2104.04465, Eq. 1-4) over the labelled
# pixels (ground truth) and the strong view's pixels (pseudo-labels with
# confidence >= 0.7). ReCo's total weighs L_reco as much as the supervised
# loss (lorenmt/reco train_semisup.py: sup_loss + unsup_loss + reco_loss);
# FixMatch and UniMatch halve their supervised loss (sup_weight 0.5), so
# the term carries sup_weight as well, keeping ReCo's ratio to the
# supervised loss. The model must carry a RepresentationHead whose own
# loss_rep is None (the loss lives in ReCoTerm).
_base_ = ['./fixmatch.py']
reco_term = dict(
    type='ReCoTerm',
    weak_threshold=0.7,
    loss=dict(
        type='ReCoLoss',
        strong_threshold=0.97,
        temperature=0.5,
        loss_weight=_base_.sup_weight))
semi_model = dict(method_losses=[_base_.weak_to_strong, reco_term])
