# RC2L (Zhang et al., IJCAI 2022): the mean teacher with region-level losses
# on the unlabelled images, alpha * rampup * (1 RMC + 20 RFC + 4 RCC + 4 SMC),
# and no pixel-level pseudo-label CE. The model must be a region (MaskFormer)
# model (models/region_*.py). A leaf config wraps it and writes in its
# dataset's strong scale range:
#   model = dict(_delete_=True, segmentor=_base_.model, **_base_.semi_model)
#   model['strong_aug']['scale_range'] = _base_.strong_scale_range
#   optim_wrapper = dict(_delete_=True, **_base_.rc2l_optim_wrapper)
# Every value the paper does not give is marked "choice" below; the reasons
# are in RC2LTerm's and teacher_regions' docstrings.
_base_ = ['./mean_teacher.py']
# choice (the paper names the weak and strong views of the mean teacher but
# not the strong augmentation): the mean teacher's strong view, i.e. the
# dataset's random rescale + crop (leaf configs), ClassMix, horizontal flip
# with probability 0.5, colour jitter and blur. RC2LTerm maps the teacher's
# regions through the strong view's transform record (the own image's and
# the mixing partner's regions), and ClassMix mixes teacher segments
# (RC2LTerm.mix_labels; queries 0-254 of the 8-bit ClassMix table).
rc2l_strong_aug = dict(type='StrongAugment', mix='classmix', flip_prob=0.5)
# the photometric-only strong view (colour jitter, blur; the pixels stay in
# place), in a leaf config:
#   model['strong_aug'] = _base_.photometric_strong_aug
photometric_strong_aug = dict(
    type='StrongAugment', mix=None, scale_range=(1.0, 1.0), flip_prob=0.0)
semi_model = dict(
    strong_aug=rc2l_strong_aug,
    pseudo_loss=None,
    # choice: the unsupervised weight ramps up as exp(-5 (1 - t)^2) over the
    # first rampup_iters iterations (SemiSegmentor.rampup), about 1/12 of the
    # paper's 120k schedule, so the teacher's first regions, made by a
    # network that has barely learnt, enter at a small weight; leaf configs
    # with other schedules set their own
    semi_train_cfg=dict(rampup_iters=10000),
    method_losses=[
        dict(
            type='RC2LTerm',
            alpha=1.0,  # Table 4: 1.0 (VOC Aug), 2.0 (VOC Train 1/2)
            loss_weights=dict(
                # section 4.1's betas; choice: in the order the losses are
                # introduced (RMC, RFC, RCC, SMC)
                rmc=1.0,
                rfc=20.0,
                rcc=4.0,
                smc=4.0,
                # choice: no pixel consistency (the baseline of the paper's
                # Table 3: student vs the teacher's pseudo-labels); a weight
                # adds it on the pixels where the owner agrees with the
                # teacher's semantic argmax (consistency_pixels='agreed') or
                # on every owned pixel ('owned')
                consistency=0.0),
            consistency_pixels='agreed',
            # teacher regions (choice, MaskFormer's inference): each pixel's
            # owner is the object query with the largest score * mask; the
            # pixels a query owns form a region if its class probability
            # exceeds thresholds.object (MaskFormer's code default is 0.0,
            # 0.8 its COCO-panoptic value; 0.8 keeps the regions confident),
            # the teacher's semantic argmax agrees with its class and scores
            # at least thresholds.semantic of its two best classes' scores
            # (0.6: 1.5 times the runner-up), and the query owns at least
            # thresholds.overlap of its own mask (sigmoid >= thresholds.mask);
            # all other pixels are ignored by SMC, RMC, RFC
            thresholds=dict(object=0.8, semantic=0.6, overlap=0.8, mask=0.5),
            # choice: RMC as InfoNCE, RFC in a bounded form (prototypes of
            # unit features, InfoNCE): their gradient stays within a small
            # multiple of a supervised layer's. form='paper' gives Eq. 5-8 as
            # printed (unsmoothed Dice; RFC pools the binary student masks,
            # no gradient into the masks, GAP + cosine; negatives-only
            # denominators; with negatives='all' the printed negatives);
            # 'printed': the same with smoothed Dice and soft masks in RFC.
            # choice: RMC / RFC contrast a region only with the matched
            # regions of other classes ('all': every other region, as
            # printed). ClassMix puts the background regions of two images
            # in one view, and RFC as printed pushes their features apart.
            # tau_m = tau_f = 0.1: choice
            rmc=dict(form='infonce', tau=0.1, negatives='other_classes'),
            rfc=dict(form='bounded', tau=0.1, negatives='other_classes'),
            # RCC as printed (Eq. 9): the matched queries only. A number in
            # eos_coef makes it MaskFormer's class loss (unmatched student
            # queries -> 'no object' with that weight, 0.1 in MaskFormer):
            # measured on the demo, it teaches the queries over the ignored
            # (object) pixels 'no object' and the labelled class loss rises;
            # with eos_coef, no_object='known' scales each unmatched query's
            # 'no object' by the share of its mask on region pixels
            rcc=dict(eos_coef=None, no_object='all'),
            # choice: SMC knows, for each class, the region pixels and the
            # pixels a teacher segment of another class owns (negatives of
            # that class's union); 'regions': the region pixels only
            smc=dict(negatives='segments'),
            # choice (the paper is silent): the region terms on the last
            # decoder layer only; True applies them to every layer, as the
            # supervised MaskFormer loss is (keys loss_{term}_{i})
            deep_supervision=False,
            # choice: SMC / RMC / RFC are divided by their number of regions,
            # all-reduced, but never by less than the labelled images' number
            # of segments per image times the number of unlabelled images
            # (no teacher region outweighs a labelled segment)
            avg_factor_floor='labelled',
            # logged: regions per class; per-term gradient norms at the head
            # outputs cost four partial backward passes, off by default
            log=dict(class_regions=True, grad_norms=False),
            matcher=dict(
                type='HungarianMatcher',
                cost_class=1.0,
                cost_mask=20.0,
                cost_dice=1.0,
                # teacher and student masks share the 1/4 resolution:
                # dense matching is cheap there
                num_points=None))
    ],
    semi_test_cfg=dict(predict_on='teacher'))
# Eq. 4: teacher = tau * teacher + (1 - tau) * student, tau = min(1 - 1 /
# (iter + 1), 0.99). The teacher runs in eval mode (no dropout in its
# decoder, BN running statistics) with BN statistics averaged like the
# weights.
custom_hooks = [
    dict(
        type='MeanTeacherHook',
        max_decay=0.99,
        buffers='ema',
        teacher_mode='eval')
]
# Section 4.1: AdamW, lr 1e-4, weight decay 1e-4 (poly 0.9 in the schedule);
# MaskFormer's backbone lr multiplier 0.1 and gradient clipping at 0.01.
rc2l_optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4),
    clip_grad=dict(max_norm=0.01, norm_type=2),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
