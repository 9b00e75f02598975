# The cutout baseline: mean teacher with cutout on the unlabelled images.
_base_ = ['./mean_teacher.py']
semi_model = dict(strong_aug=dict(mix='cutout'))
