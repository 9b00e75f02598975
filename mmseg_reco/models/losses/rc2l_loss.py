"""RC2L's unsupervised region losses inside the mean teacher."""
from typing import Any, Dict, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from mmseg.registry import MODELS, TASK_UTILS
from mmseg.utils import ConfigType

from ..matchers.hungarian_matcher import HungarianMatcher  # noqa: F401
from ..utils.semi_batch import SemiBatch
from .mask_losses import reduce_num_masks
from .region_losses import (rcc_loss, rfc_loss, rmc_loss, smc_loss,
                            teacher_regions)


@MODELS.register_module()
class RC2LLoss(nn.Module):
    """The unsupervised part of RC2L (shared/papers/004, section 3).

    A method term of :class:`SemiSegmentor` (``method_losses``)::

        alpha * (beta1 L_RMC + beta2 L_RFC + beta3 L_RCC + beta4 L_SMC)

    on the unlabelled images; the supervised MaskFormer loss on labelled
    images is the student :class:`RegionHead`'s own (``sup_*`` keys).

    1. Teacher regions (:func:`teacher_regions`): the EMA teacher's outputs
       on the weak view (``SemiBatch.teacher_outputs``) are turned into
       confident, disjoint regions ``(c^t_i, m^t_i)`` by MaskFormer's
       panoptic inference rule: a query is kept if its most probable class
       is an object class with probability > ``object_threshold``; pixels go
       to the kept query with the largest ``score * sigmoid(mask)``, inside
       its own ``sigmoid(mask) >= mask_threshold``; regions keeping less
       than ``overlap_threshold`` of their mask, or nothing, are dropped.
    2. The student's regions on the strong view are matched to them by the
       Hungarian matcher (sigma, section 3.2).
    3. RMC (Eq. 5), RFC (Eq. 6-8), RCC (Eq. 9) over the matched pairs and
       SMC (Eq. 10) over the classes of the teacher regions; see
       :mod:`.region_losses`. Every loss is averaged over the teacher
       regions of the batch (SMC: over (image, class) pairs), counted over
       all processes.

    **Pixel alignment.** The teacher saw the weak, unmixed view, while the
    student's masks come from the strong view; the masks are compared pixel
    by pixel, so the strong view must not move pixels: use a photometric
    ``StrongAugment`` (``mix=None``, ``flip_prob=0``, ``scale_range=(1,
    1)``; colour jitter and blur are fine). This is checked on every call,
    together with the shapes of the student's and teacher's masks. RC2L has
    no pixel-level pseudo-label CE: set ``pseudo_loss=None``.

    **Choices** (not given in the paper copy):

    - beta = (1, 20, 4, 4) for (RMC, RFC, RCC, SMC): the values of section
      4.1 in the order the losses are introduced.
    - ``tau_m = tau_f = 0.1``: similarities lie in [0, 1] (Dice) and [-1, 1]
      (cosine); 0.1 gives them the logit range of common contrastive
      temperatures (0.07-0.2, SimCLR/MoCo v2, both cited by the paper).
    - Eq. 5 and Eq. 8 are implemented as printed (the positive is not in the
      denominator), ``positive_in_denominator=True`` gives InfoNCE.
    - RFC's target features are not back-propagated (``detach_target``).
    - ``L_mask`` of SMC is MaskFormer's ``20 * focal + 1 * dice``.

    Args:
        matcher (dict): ``HungarianMatcher`` config (TASK_UTILS).
            Default: MaskFormer's costs (1, 20, 1), dense (student and
            teacher masks share the head's 1/4 resolution, where dense
            costs are cheap).
        alpha (float): weight of the unsupervised sum (paper Table 4: 1,
            1.5 or 2). Default: 1.0.
        betas (Sequence[float]): weights of RMC, RFC, RCC, SMC.
            Default: (1, 20, 4, 4).
        tau_m (float): temperature of RMC. Default: 0.1.
        tau_f (float): temperature of RFC. Default: 0.1.
        object_threshold (float): class probability of a teacher region.
            Default: 0.8 (MaskFormer).
        overlap_threshold (float): kept share of a teacher mask.
            Default: 0.8 (MaskFormer).
        mask_threshold (float): sigmoid threshold of the teacher masks.
            Default: 0.5.
        dice_eps (float): smoothing of the Dice similarity. Default: 1.0.
        positive_in_denominator (bool): InfoNCE instead of Eq. 5/8 as
            printed. Default: False.
        detach_target (bool): stop the gradient through RFC's target
            features. Default: True.
        smc_focal_weight (float): focal weight of SMC's L_mask.
            Default: 20.0.
        smc_dice_weight (float): dice weight of SMC's L_mask. Default: 1.0.
        focal_alpha (float): focal alpha. Default: 0.25.
        focal_gamma (float): focal gamma. Default: 2.0.
        use_rampup (bool): multiply by the segmentor's ramp-up
            (``semi_train_cfg.rampup_iters``; RC2L uses none). Default: True.
    """

    LOSS_NAMES = ('loss_rmc', 'loss_rfc', 'loss_rcc', 'loss_smc')

    def __init__(self,
                 matcher: ConfigType = dict(
                     type='HungarianMatcher',
                     cost_class=1.0,
                     cost_mask=20.0,
                     cost_dice=1.0,
                     num_points=None),
                 alpha: float = 1.0,
                 betas: Sequence[float] = (1.0, 20.0, 4.0, 4.0),
                 tau_m: float = 0.1,
                 tau_f: float = 0.1,
                 object_threshold: float = 0.8,
                 overlap_threshold: float = 0.8,
                 mask_threshold: float = 0.5,
                 dice_eps: float = 1.0,
                 positive_in_denominator: bool = False,
                 detach_target: bool = True,
                 smc_focal_weight: float = 20.0,
                 smc_dice_weight: float = 1.0,
                 focal_alpha: float = 0.25,
                 focal_gamma: float = 2.0,
                 use_rampup: bool = True) -> None:
        super().__init__()
        assert len(betas) == 4, 'betas are the weights of RMC, RFC, RCC, SMC'
        assert tau_m > 0 and tau_f > 0
        self.matcher = TASK_UTILS.build(matcher)
        self.alpha = alpha
        self.betas = tuple(float(b) for b in betas)
        self.tau_m = tau_m
        self.tau_f = tau_f
        self.object_threshold = object_threshold
        self.overlap_threshold = overlap_threshold
        self.mask_threshold = mask_threshold
        self.dice_eps = dice_eps
        self.positive_in_denominator = positive_in_denominator
        self.detach_target = detach_target
        self.smc_focal_weight = smc_focal_weight
        self.smc_dice_weight = smc_dice_weight
        self.focal_alpha = focal_alpha
        self.focal_gamma = focal_gamma
        self.use_rampup = use_rampup

    def extra_repr(self) -> str:
        return (f'alpha={self.alpha}, betas={self.betas}, '
                f'tau_m={self.tau_m}, tau_f={self.tau_f}, '
                f'object_threshold={self.object_threshold}')

    @staticmethod
    def check_alignment(model: nn.Module) -> None:
        """Raise if the strong view can move pixels (see the class doc)."""
        aug = getattr(model, 'strong_aug', None)
        if aug is None:
            return
        problems = []
        if getattr(aug, 'mixer', None) is not None:
            problems.append(f'mix={type(aug.mixer).__name__}')
        if getattr(aug, 'rescale_enabled', False):
            problems.append(f'scale_range={aug.scale_range}')
        if getattr(aug, 'flip_prob', 0) > 0:
            problems.append(f'flip_prob={aug.flip_prob}')
        if problems:
            raise ValueError(
                'RC2LLoss compares student masks (strong view) with teacher '
                'masks (weak view) pixel by pixel; the strong augmentation '
                'must be photometric only (mix=None, flip_prob=0, '
                f'scale_range=(1, 1)), got {", ".join(problems)}')

    def forward(self, model: nn.Module, outputs: Any,
                batch: SemiBatch) -> Dict[str, Tensor]:
        """The four region losses of the unlabelled part of a batch.

        Args:
            model (nn.Module): the :class:`SemiSegmentor`.
            outputs (dict): the student :class:`RegionHead`'s outputs on
                ``batch.inputs`` (labelled + strong unlabelled): pred_logits
                (N, Q, K+1), pred_masks (N, Q, h, w), mask_features
                (N, C, h, w).
            batch (SemiBatch): ``teacher_outputs`` holds the teacher head's
                outputs on the weak unlabelled view (Nu images).

        Returns:
            dict[str, Tensor]: ``loss_rmc``, ``loss_rfc``, ``loss_rcc``,
            ``loss_smc`` (each times alpha, its beta and the ramp-up) and
            ``num_regions`` (teacher regions per unlabelled image).
        """
        self.check_alignment(model)
        teacher = batch.teacher_outputs
        if not isinstance(outputs, dict) or not isinstance(teacher, dict):
            raise TypeError('RC2LLoss needs the dict outputs of a RegionHead '
                            'for the student and the teacher')
        start = batch.num_labelled
        cls_s = outputs['pred_logits'][start:]
        masks_s = outputs['pred_masks'][start:]
        feats_s = outputs['mask_features'][start:]
        if masks_s.shape != teacher['pred_masks'].shape:
            raise ValueError(
                'student and teacher masks must be pixel-aligned: got '
                f'{tuple(masks_s.shape)} (student, strong view) and '
                f'{tuple(teacher["pred_masks"].shape)} (teacher, weak view)')

        labels_t, masks_t, valid_t = teacher_regions(
            teacher['pred_logits'], teacher['pred_masks'],
            self.object_threshold, self.overlap_threshold,
            self.mask_threshold)
        matched = self.matcher(cls_s, masks_s, labels_t, masks_t, valid_t)
        present = torch.nn.functional.one_hot(
            labels_t, cls_s.shape[-1] - 1).mul(valid_t[..., None]).amax(1)
        counts = torch.stack([(matched >= 0).sum(), present.sum()])
        num_regions, num_classes = reduce_num_masks(counts).unbind()

        rmc = rmc_loss(masks_s, masks_t, matched, self.tau_m, self.dice_eps,
                       self.positive_in_denominator, num_regions)
        rfc = rfc_loss(masks_s, masks_t, feats_s, matched, self.tau_f,
                       self.detach_target, self.positive_in_denominator,
                       num_regions)
        rcc = rcc_loss(cls_s, labels_t, matched, num_regions)
        smc = smc_loss(cls_s, masks_s, labels_t, masks_t, valid_t,
                       self.smc_focal_weight, self.smc_dice_weight,
                       self.focal_alpha, self.focal_gamma, num_classes)

        weight = self.alpha
        if self.use_rampup and hasattr(model, 'rampup'):
            weight = weight * model.rampup()
        losses = {
            name: weight * beta * value
            for name, beta, value in zip(self.LOSS_NAMES, self.betas,
                                         (rmc, rfc, rcc, smc))
        }
        losses['num_regions'] = valid_t.sum(1).float().mean()
        return losses
