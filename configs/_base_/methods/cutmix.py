# The cutmix baseline: mean teacher with cutmix on the unlabelled images.
_base_ = ['./mean_teacher.py']
semi_model = dict(strong_aug=dict(mix='cutmix'))
