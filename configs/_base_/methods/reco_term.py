# ReCo's regional contrast as a method term (Liu et al., ICLR 2022,
# arXiv 2104.04465, Eq. 1-4), shared by the mean teacher (./reco_classmix.py)
# and the compositions (./reco_fixmatch.py, ./reco_unimatch.py): one ReCo
# loss over the labelled pixels (ground truth) and the strong views' pixels
# (pseudo-labels with confidence >= 0.7). ReCo's total weighs L_reco as much
# as the supervised loss (lorenmt/reco train_semisup.py: sup_loss +
# unsup_loss + reco_loss), so the term is multiplied by the step's
# sup_weight (ReCoTerm relative_to_supervised): 1 in the mean teachers, 0.5
# in FixMatch and UniMatch. The model must carry a RepresentationHead whose
# own loss_rep is None (the loss lives in ReCoTerm).
reco_term = dict(
    type='ReCoTerm',
    weak_threshold=0.7,
    relative_to_supervised=True,
    loss=dict(type='ReCoLoss', strong_threshold=0.97, temperature=0.5))
