# The supervised baseline of ReCo's tables: labelled images only (the
# sampler fills the whole batch with labelled images, i.e. the labelled
# batch is doubled), the same photometric augmentation, student evaluated.
_base_ = ['./mean_teacher.py']
semi_model = dict(
    strong_aug=None, pseudo_loss=None, semi_test_cfg=dict(predict_on='student'))
custom_hooks = []
