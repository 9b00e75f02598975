# ReCo + ClassMix under ReCo's partial-label protocol (Table 3): as
# ./reco_classmix.py, and the ReCo loss also takes the unlabelled-in-gt
# pixels of labelled images where the student is confident (max softmax
# >= 0.97), labelled with the student's prediction (the authors'
# train_semisup_partial.py). Use with a ../datasets/*_partial.py base.
_base_ = ['./reco_classmix.py']
semi_model = dict(method_losses=[
    dict(_base_.semi_model.method_losses[0], partial_threshold=0.97)
])
