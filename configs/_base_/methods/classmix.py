# The classmix baseline: mean teacher with classmix on the unlabelled images.
_base_ = ['./mean_teacher.py']
semi_model = dict(strong_aug=dict(mix='classmix'))
