# S4GAN (Mittal et al., TPAMI 2019) in ReCo's mean-teacher frame: a
# segmentation network (the student, EMA teacher by MeanTeacherHook) and an
# image-level discriminator, trained by two optimisers (OptimWrapperDict).
# Values: the authors' code github.com/sud0301/semisup-semseg,
# train_s4GAN.py (LAMBDA_FM, LAMBDA_ST, THRESHOLD_ST, LEARNING_RATE_D, Adam
# betas) and model/discriminator.py. A leaf config wraps its plain
# segmentor and adds the discriminator's optimiser to the schedule's:
#   model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
#   optim_wrapper = dict(_delete_=True, student=_base_.optim_wrapper,
#                        **_base_.s4gan_optim_wrapper)
_base_ = ['./mean_teacher.py']
semi_model = dict(
    _delete_=True,
    type='S4GANSegmentor',
    # 4 stride-2 convs (64-128-256-512), LeakyReLU 0.2, Dropout2d 0.5,
    # global average pooling, fc -> one logit per image
    discriminator=dict(
        type='S4GANDiscriminator',
        base_channels=64,
        num_convs=4,
        negative_slope=0.2,
        dropout_ratio=0.5),
    # ReCo's colour jitter (p=0.8) and blur (p=0.5) on the device, alike on
    # the labelled (real) and unlabelled (fake) images, plus flips of the
    # unlabelled images (the labelled ones are flipped by the pipeline)
    sup_aug=dict(
        type='StrongAugment', mix=None, scale_range=(1.0, 1.0),
        flip_prob=0.0),
    unsup_aug=dict(
        type='StrongAugment', mix=None, scale_range=(1.0, 1.0),
        flip_prob=0.5),
    semi_train_cfg=dict(
        lambda_fm=0.1,
        lambda_st=1.0,
        # 0.6 for Pascal VOC / Context, 0.7 for Cityscapes
        threshold_st=0.6,
        # the teacher's prediction is scored and self-trains the student
        pseudo_source='teacher',
        unsup_weight=1.0,
        rampup_iters=0),
    semi_test_cfg=dict(predict_on='teacher'))
# discriminator: Adam, lr 1e-4, betas (0.9, 0.99); the schedule's poly
# decay (power 0.9) applies to both optimisers, as in the authors' code
s4gan_optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    discriminator=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99))))
# mmengine's default DDP wrapper cannot drive two optimisers
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel')
