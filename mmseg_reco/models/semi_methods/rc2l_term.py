"""RC2L's unsupervised region losses inside the mean teacher."""
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS, TASK_UTILS
from mmseg.utils import ConfigType

from ..decode_heads.region_head import semantic_inference
from ..losses.mask_losses import reduce_num_masks
from ..augmentation.semi_batch import SemiBatch, WeakPass
from ..augmentation.transform_record import TransformRecord, project_target
from ..losses.region_losses import (RFC_FORMS, RMC_FORMS, TeacherRegions,
                                    binary_masks, contrast_members,
                                    label_regions, nonempty_matched, one_hot,
                                    pixel_consistency_loss, rcc_loss, rfc_loss,
                                    rmc_loss, segment_negatives, slot_regions,
                                    smc_loss, teacher_regions)
from ..matchers.hungarian_matcher import HungarianMatcher  # noqa: F401
from ...utils.config_groups import resolve_groups
from .method_context import MethodContext

#: ``RC2LTerm(avg_factor_floor=...)`` choices
AVG_FACTOR_FLOORS = ('labelled', 'image', 'none')
#: the pixels SMC knows (see RC2LTerm's ``smc['negatives']``)
SMC_NEGATIVES = ('segments', 'regions')
#: the negatives of RMC and RFC (see RC2LTerm's ``rmc['negatives']``)
CONTRAST_NEGATIVES = ('other_classes', 'all')
#: RCC's 'no object' targets (see RC2LTerm's ``rcc['no_object']``)
RCC_NO_OBJECT = ('known', 'all')
#: the pixels of the baseline's consistency (``consistency_pixels``)
CONSISTENCY_PIXELS = ('agreed', 'owned')
#: where the regions come from (``regions_from``)
REGION_SOURCES = ('teacher', 'pixel_labels')


def _check_choice(name: str, value: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``; a ValueError naming the
    argument otherwise."""
    if value not in choices:
        raise ValueError(f'{name} must be one of {choices}, got {value!r}')
    return value


@MODELS.register_module()
class RC2LTerm(nn.Module):
    """The unsupervised part of RC2L.

    `RC2L: Region-Level Contrastive and Consistency Learning for
    Semi-Supervised Semantic Segmentation
    <https://arxiv.org/abs/2204.13314>`_ (Zhang et al., IJCAI 2022),
    section 3. A method term of :class:`SemiSegmentor` (``method_losses``)::

        alpha * rampup * (beta1 L_RMC + beta2 L_RFC + beta3 L_RCC
                          + beta4 L_SMC)

    on the unlabelled images; the supervised MaskFormer loss on labelled
    images is the student :class:`RegionHead`'s own (``sup_*`` keys).

    1. Teacher regions (:func:`teacher_regions`): the EMA teacher's outputs
       on the weak view (``SemiBatch.teacher_outputs``). Every pixel goes to
       the object query with the largest ``score * sigmoid(mask)`` (all
       queries not predicting 'no object', as MaskFormer's inference); the
       pixels a confident query (``thresholds['object']``) owns, where the
       teacher's semantic argmax agrees with its class with confidence
       ``S_1 / (S_1 + S_2)`` at least ``thresholds['semantic']``, form its
       region. Every other pixel is
       ignored by SMC, RMC and RFC.
    2. The student's regions on the strong view are matched (sigma, section
       3.2) by the Hungarian matcher to all the teacher's segments: the
       regions and the segments of unconfident owners. A student query
       matched to an unconfident segment is left alone by RCC (no class,
       no 'no object'), so the student is not taught that whatever the
       teacher is unsure of is 'no object'. By default RCC is Eq. 9 as
       printed and takes no unmatched query either.
    3. RMC (Eq. 5), RFC (Eq. 6-8), RCC (Eq. 9) and SMC (Eq. 10); see
       :mod:`.region_losses`.

    **Normalisation.** RCC as printed sums over the matched regions (as
    MaskFormer's class loss, ``rcc['eos_coef']`` set, it is a weighted mean
    over the student queries and has no floor). SMC sums over the (image,
    class) pairs, RMC and RFC over the regions with a negative (another
    matched region in their image, of another class with
    ``'other_classes'``, :func:`.contrast_members`); each is
    divided by its count of contributing terms, averaged over processes,
    but never by less than the floor
    (``avg_factor_floor``): ``'labelled'`` (default) the number of ground
    truth segments of the labelled images per image times the number of
    unlabelled images, so that no teacher region weighs more than a
    labelled segment does in the supervised loss while the teacher finds
    few regions; ``'image'`` one per unlabelled image; ``'none'`` 1.

    **Ramp-up.** The weight is multiplied by ``context.rampup`` (the
    segmentor's sigmoid ramp-up over ``semi_train_cfg.rampup_iters``).

    **Logged statistics** (keys without ``loss``, not summed): the
    unweighted terms ``rmc``, ``rfc``, ``rcc``, ``smc``; ``rc2l_weight``
    (alpha times the ramp-up); ``num_regions`` (teacher regions per
    unlabelled image), ``num_contrast_regions`` (those with an RFC negative),
    ``known_ratio`` (share of unlabelled pixels inside a region);
    ``regions_cls{k}`` (regions of class k per unlabelled image) with
    ``log['class_regions']``; ``grad_norm_{term}`` (L2 norm of the weighted
    term's gradient with respect to the student head's outputs, a partial
    backward pass through the loss only) with ``log['grad_norms']``.

    **Geometry of the strong view.** The teacher saw the weak, unmixed
    view, while the student's masks come from the strong view, and the
    masks are compared pixel by pixel, so the teacher's regions are moved
    as the strong view moved pixels (rescale + crop, ClassMix or CutMix,
    flip): :meth:`view_regions` maps the owner of every weak-view pixel and
    its state (inside a region, agreeing with the teacher's semantic
    argmax) through the strong view's transform record
    (``SemiBatch.transform``, :func:`.project_target`, nearest neighbour)
    to the student's mask resolution, into ``G = 2Q`` target slots per
    image: the own image's queries, then those of the mixing partner
    ``(i + 1) mod Nu``, whose classes and confidence are the partner's. A
    region cut by the crop or the mix keeps its remaining pixels; one that
    leaves the view is no target. ClassMix mixes teacher *segments* (a
    random half of the segments of image ``i`` pasted on its partner, the
    region counterpart of mixing classes): the term gives the segmentor
    the owner map to select from (:meth:`mix_labels`). Called with a batch
    without a transform record, the term uses the teacher's regions as
    they are, and the student's masks must have the teacher's shape. RC2L
    has no pixel-level pseudo-label CE: set ``pseudo_loss=None``.

    **Choices** where the paper is silent (section 4.1 gives beta = 1, 20,
    4, 4 and alpha, Table 4):

    - beta = (1, 20, 4, 4) for (RMC, RFC, RCC, SMC): the values of section
      4.1 in the order the losses are introduced.
    - ``tau_m = tau_f = 0.1``: similarities lie in [0, 1] (Dice) and
      [-1, 1]; 0.1 gives them the logit range of common contrastive
      temperatures (0.07-0.2, SimCLR/MoCo v2, both cited by the paper).
    - RMC as InfoNCE (the positive in the denominator) and RFC in a bounded
      form (:func:`.rfc_loss`), so that neither keeps pushing at full
      strength once its positive wins. ``rmc``/``rfc=dict(form='paper')``
      give Eq. 5-8 as printed: unsmoothed Dice, RFC pooled with the binary
      student masks of section 3.2 (no gradient into the mask logits), GAP
      and cosine, the negatives only in the denominator, with the guards of
      :func:`.rmc_loss` and :func:`.rfc_loss`; together with
      ``negatives='all'`` the denominators are the printed ones.
      ``'printed'``: smoothed Dice, soft masks in RFC.
    - RMC's and RFC's negatives are the matched regions of *other* classes
      (``rmc``/``rfc=dict(negatives='other_classes')``; ``'all'``: every
      other matched region, as printed). The strong view mixes two images
      (ClassMix), so most views hold two background regions; as printed,
      RFC pushes their features apart (measured on the demo: it became the
      largest unsupervised term and the model collapsed, docs/benchmarks.md).
    - RFC's target features are not back-propagated
      (``rfc['detach_target']``).
    - ``L_mask`` of SMC is MaskFormer's ``20 * focal + 1 * dice``.
    - RCC as printed, Eq. 9 (``rcc=dict(eos_coef=None)``, matched queries
      only). ``rcc=dict(eos_coef=0.1)`` gives MaskFormer's class loss
      (unmatched queries -> 'no object'); with teacher regions that cover
      only part of an image (the ignored pixels are often objects) it
      teaches the queries over them 'no object' (measured: the labelled
      class loss rose from 1.5 to 1.8-2.0); ``no_object='known'`` scales
      each such term by the share of the query's mask on region pixels.
    - The teacher's regions: see step 1 and :func:`.teacher_regions`.
    - No pixel consistency by default
      (``loss_weights['consistency']=0``): the
      paper's total is the supervised loss plus the four region losses,
      while its ablation (Table 3) adds them to a baseline with a pixel
      consistency between the student and the teacher's pseudo-labels.
      ``loss_weights['consistency']`` adds it, on the ``agreed`` pixels
      (:attr:`.TeacherRegions.agreed`). Measured on the demo
      (docs/benchmarks.md): it lowers the result, as the teacher's
      confident pixels are background.

    Args:
        matcher (dict): ``HungarianMatcher`` config (TASK_UTILS).
            Default: MaskFormer's costs (1, 20, 1), dense (student and
            teacher masks share the head's 1/4 resolution, where dense
            costs are cheap).
        alpha (float): weight of the unsupervised sum (paper Table 4: 1,
            1.5 or 2). Default: 1.0.
        loss_weights (dict, optional): the betas and the baseline's pixel
            consistency; keys and defaults:

            - ``rmc`` (float): beta of RMC. Default: 1.0.
            - ``rfc`` (float): beta of RFC. Default: 20.0.
            - ``rcc`` (float): beta of RCC. Default: 4.0.
            - ``smc`` (float): beta of SMC. Default: 4.0.
            - ``consistency`` (float, >= 0): weight of the pixel consistency
              of the paper's baseline (:func:`.pixel_consistency_loss`,
              Table 3's first row, logged as ``loss_consistency``); 0 leaves
              it out (see the class doc). Default: 0.0.
        thresholds (dict, optional): the regions' thresholds; keys and
            defaults:

            - ``object`` (float, [0, 1)): class probability above which a
              teacher query's segment is a region. Default: 0.8
              (MaskFormer's COCO panoptic value; its code default is 0.0).
            - ``semantic`` (float, [0, 1]): minimum semantic confidence of
              a region pixel: the teacher's semantic score of its class over
              the sum of its two largest scores. Default: 0.6.
            - ``overlap`` (float): share of its own mask a teacher query
              must own. Default: 0.8 (MaskFormer).
            - ``mask`` (float): sigmoid threshold of the teacher masks and
              of RFC's binary student masks (``rfc=dict(form='paper')``).
              Default: 0.5.
            - ``label`` (float): with ``regions_from='pixel_labels'``, the
              minimum confidence of a region pixel (a merged known label has
              1). Default: 1.0.
        rmc (dict, optional): RMC (Eq. 5, :func:`.rmc_loss`); keys and
            defaults:

            - ``form`` (str): ``'infonce'``, ``'printed'`` or ``'paper'``.
              Default: 'infonce'.
            - ``tau`` (float, > 0): temperature tau_m. Default: 0.1.
            - ``negatives`` (str): ``'other_classes'`` or ``'all'`` (as
              printed), see the class doc. Default: 'other_classes'.
            - ``dice_eps`` (float): smoothing of the Dice similarity.
              Default: 1.0.
        rfc (dict, optional): RFC (Eq. 6-8, :func:`.rfc_loss`); keys and
            defaults:

            - ``form`` (str): ``'bounded'``, ``'printed'`` or ``'paper'``.
              Default: 'bounded'.
            - ``tau`` (float, > 0): temperature tau_f. Default: 0.1.
            - ``negatives`` (str): as RMC's. Default: 'other_classes'.
            - ``detach_target`` (bool): stop the gradient through the
              target features. Default: True.
        rcc (dict, optional): RCC (Eq. 9, :func:`.rcc_loss`); keys and
            defaults:

            - ``eos_coef`` (float, optional): 'no object' weight
              (MaskFormer: 0.1); None: Eq. 9 as printed. Default: None.
            - ``no_object`` (str): with ``eos_coef``, ``'all'`` (every
              unmatched query, MaskFormer) or ``'known'`` (scaled by
              :meth:`no_object_weight`). Default: 'all'.
        smc (dict, optional): SMC (Eq. 10, :func:`.smc_loss`); keys and
            defaults:

            - ``negatives`` (str): the pixels SMC knows: ``'segments'``, a
              region's pixels and, for each class, the pixels a teacher
              segment of another class owns (:func:`segment_negatives`);
              ``'regions'``, a region's pixels only (a class whose regions
              are the only confident ones then has no negative pixel).
              Default: 'segments'.
            - ``focal_weight`` (float): focal weight of L_mask.
              Default: 20.0.
            - ``dice_weight`` (float): dice weight of L_mask. Default: 1.0.
            - ``focal_alpha`` (float): focal alpha. Default: 0.25.
            - ``focal_gamma`` (float): focal gamma. Default: 2.0.
        consistency_pixels (str): the pixels of the pixel consistency:
            ``'agreed'``, those whose owner's class is the teacher's
            semantic argmax with confidence ``thresholds['semantic']``
            (:attr:`.TeacherRegions.agreed`), or ``'owned'``, every pixel a
            segment owns. Default: 'agreed'.
        regions_from (str): ``'teacher'``, the teacher's query regions
            (step 1), or ``'pixel_labels'``, one region per class of the
            weak view's pixel labels (``batch.weak``: the teacher's
            semantic argmax, with the known labels of the partial-label
            protocol merged in, :func:`.label_regions`). With every
            unlabelled pixel known the regions are the true segments:
            ``benchmarks/accuracy.py --methods rc2l-oracle`` trains RC2L's
            losses on perfect regions. Needs the strong view's transform
            record (``SemiSegmentor``). Default: 'teacher'.
        avg_factor_floor (str): ``'labelled'``, ``'image'`` or ``'none'``,
            see above. Default: 'labelled'.
        use_rampup (bool): multiply by the segmentor's ramp-up.
            Default: True.
        deep_supervision (bool): apply RMC, RFC, RCC and SMC to every
            decoder layer of the student, as the supervised MaskFormer loss
            is (the head's ``aux_outputs``; each layer matched and
            normalised on its own, keys ``loss_{term}_{i}`` for auxiliary
            layer ``i``, as the head's); False: the last layer only. The
            paper is silent. The pixel consistency and the statistics stay
            on the last layer. Default: False.
        log (dict, optional): logged statistics; keys and defaults:

            - ``class_regions`` (bool): log ``regions_cls{k}``.
              Default: True.
            - ``grad_norms`` (bool): log ``grad_norm_{term}`` (four partial
              backward passes through the loss). Default: False.
        **legacy: the deprecated flat arguments only (see below).

    Each dict argument is merged over its defaults (:attr:`GROUP_DEFAULTS`),
    so a config may set one key (``loss_weights=dict(rfc=10.0)``); an
    unknown key raises a ValueError naming the argument and its keys.

    The flat arguments before the grouping (``betas``, ``tau_m``,
    ``object_threshold``, ...; ``LEGACY_GROUP_KEYS['RC2LTerm']`` in
    :mod:`mmseg_reco.utils.config_groups`) are deprecated: ``**legacy``
    takes them for one release, moved into their groups with a
    DeprecationWarning that names the new key (``betas`` gives
    ``loss_weights``' four betas); an old argument together with its key in
    the group raises a TypeError, and any other name raises the usual
    "unexpected keyword argument" TypeError.
    """

    LOSS_NAMES = ('loss_rmc', 'loss_rfc', 'loss_rcc', 'loss_smc')
    #: the baseline's pixel consistency (``loss_weights['consistency']``)
    CONSISTENCY_NAME = 'loss_consistency'
    #: the defaults of the dict arguments (see ``Args``)
    GROUP_DEFAULTS = dict(
        loss_weights=dict(
            rmc=1.0, rfc=20.0, rcc=4.0, smc=4.0, consistency=0.0),
        thresholds=dict(
            object=0.8, semantic=0.6, overlap=0.8, mask=0.5, label=1.0),
        rmc=dict(
            form='infonce', tau=0.1, negatives='other_classes', dice_eps=1.0),
        rfc=dict(
            form='bounded',
            tau=0.1,
            negatives='other_classes',
            detach_target=True),
        rcc=dict(eos_coef=None, no_object='all'),
        smc=dict(
            negatives='segments',
            focal_weight=20.0,
            dice_weight=1.0,
            focal_alpha=0.25,
            focal_gamma=2.0),
        log=dict(class_regions=True, grad_norms=False))

    def __init__(self,
                 matcher: ConfigType = dict(
                     type='HungarianMatcher',
                     cost_class=1.0,
                     cost_mask=20.0,
                     cost_dice=1.0,
                     num_points=None),
                 alpha: float = 1.0,
                 loss_weights: Optional[ConfigType] = None,
                 thresholds: Optional[ConfigType] = None,
                 rmc: Optional[ConfigType] = None,
                 rfc: Optional[ConfigType] = None,
                 rcc: Optional[ConfigType] = None,
                 smc: Optional[ConfigType] = None,
                 consistency_pixels: str = 'agreed',
                 regions_from: str = 'teacher',
                 avg_factor_floor: str = 'labelled',
                 use_rampup: bool = True,
                 deep_supervision: bool = False,
                 log: Optional[ConfigType] = None,
                 **legacy) -> None:
        super().__init__()
        weights, thresholds, rmc, rfc, rcc, smc, log = resolve_groups(
            'RC2LTerm',
            dict(
                loss_weights=loss_weights,
                thresholds=thresholds,
                rmc=rmc,
                rfc=rfc,
                rcc=rcc,
                smc=smc,
                log=log), self.GROUP_DEFAULTS, legacy)
        assert rmc['tau'] > 0 and rfc['tau'] > 0
        assert (0 <= thresholds['object'] < 1
                and 0 <= thresholds['semantic'] <= 1)
        _check_choice("rmc['form']", rmc['form'], RMC_FORMS)
        _check_choice("rfc['form']", rfc['form'], RFC_FORMS)
        _check_choice('avg_factor_floor', avg_factor_floor, AVG_FACTOR_FLOORS)
        _check_choice("rcc['no_object']", rcc['no_object'], RCC_NO_OBJECT)
        if rcc['no_object'] == 'known' and rcc['eos_coef'] is None:
            raise ValueError(
                "rcc=dict(no_object='known') scales RCC's 'no object' "
                "terms, which exist only in MaskFormer's form: set "
                "rcc=dict(eos_coef=0.1, no_object='known') or leave "
                "no_object at 'all'")
        self.matcher = TASK_UTILS.build(matcher)
        self.alpha = alpha
        self.betas = tuple(
            float(weights[name[len('loss_'):]]) for name in self.LOSS_NAMES)
        if weights['consistency'] < 0:
            raise ValueError("loss_weights['consistency'] must be >= 0, got "
                             f"{weights['consistency']}")
        self.consistency_weight = float(weights['consistency'])
        self.consistency_pixels = _check_choice('consistency_pixels',
                                                consistency_pixels,
                                                CONSISTENCY_PIXELS)
        self.tau_m = rmc['tau']
        self.tau_f = rfc['tau']
        self.object_threshold = thresholds['object']
        self.semantic_threshold = thresholds['semantic']
        self.overlap_threshold = thresholds['overlap']
        self.mask_threshold = thresholds['mask']
        self.dice_eps = rmc['dice_eps']
        self.rmc_form = rmc['form']
        self.rfc_form = rfc['form']
        self.detach_target = rfc['detach_target']
        self.rcc_eos_coef = rcc['eos_coef']
        self.rcc_no_object = rcc['no_object']
        self.smc_negatives = _check_choice("smc['negatives']",
                                           smc['negatives'], SMC_NEGATIVES)
        self.rmc_negatives = _check_choice("rmc['negatives']",
                                           rmc['negatives'],
                                           CONTRAST_NEGATIVES)
        self.rfc_negatives = _check_choice("rfc['negatives']",
                                           rfc['negatives'],
                                           CONTRAST_NEGATIVES)
        self.smc_focal_weight = smc['focal_weight']
        self.smc_dice_weight = smc['dice_weight']
        self.focal_alpha = smc['focal_alpha']
        self.focal_gamma = smc['focal_gamma']
        self.avg_factor_floor = avg_factor_floor
        self.use_rampup = use_rampup
        self.log_class_regions = log['class_regions']
        self.log_grad_norms = log['grad_norms']
        self.regions_from = _check_choice('regions_from', regions_from,
                                          REGION_SOURCES)
        self.label_threshold = thresholds['label']
        self.deep_supervision = bool(deep_supervision)

    def regions(self, teacher: Dict[str, Tensor]) -> TeacherRegions:
        """The teacher's regions on the weak view (:func:`teacher_regions`).

        Args:
            teacher (dict): the teacher head's outputs, pred_logits
                (Nu, Q, K+1) and pred_masks (Nu, Q, h, w).

        Returns:
            TeacherRegions: G = Q slots at the teacher's mask resolution.
        """
        return teacher_regions(teacher['pred_logits'], teacher['pred_masks'],
                               self.object_threshold, self.semantic_threshold,
                               self.overlap_threshold, self.mask_threshold)

    def weak_regions(self, batch: SemiBatch) -> TeacherRegions:
        """The regions on the weak view: the teacher's (step 1), or those
        of the weak view's pixel labels (``regions_from='pixel_labels'``).

        Args:
            batch (SemiBatch): ``teacher_outputs`` (pred_logits (Nu, Q,
                K+1), pred_masks (Nu, Q, h, w)) and, for the pixel labels,
                ``weak`` (labels and confidence (Nu, H, W)).

        Returns:
            TeacherRegions: G = Q slots at the teacher's mask resolution
            (h, w), or at (H, W) for the pixel labels.
        """
        teacher = batch.teacher_outputs
        if self.regions_from == 'teacher':
            return self.regions(teacher)
        if batch.weak is None or batch.transform is None:
            raise ValueError(
                "RC2LTerm(regions_from='pixel_labels') reads the weak "
                "view's pixel labels and maps them through the strong "
                'view (batch.weak, batch.transform); call it from a '
                'SemiSegmentor')
        num_queries, num_classes = teacher['pred_logits'].shape[1:]
        return label_regions(batch.weak.labels, batch.weak.confidence,
                             num_queries, num_classes - 1,
                             self.label_threshold)

    @torch.no_grad()
    def mix_labels(self, weak: WeakPass) -> Tensor:
        """The map whose classes ClassMix selects: the teacher's segments.

        :class:`SemiSegmentor`'s hook (see its class doc): each weak-view
        pixel holds the query that owns it (-1: none, never selected), so
        ClassMix pastes whole teacher segments; with
        ``regions_from='pixel_labels'`` the pixel labels themselves.

        Args:
            weak (WeakPass): the teacher's outputs on the weak view and its
                pixel labels (Nu, H, W).

        Returns:
            Tensor: (Nu, H, W) long.
        """
        if self.regions_from == 'pixel_labels':
            return weak.labels
        if not isinstance(weak.outputs, dict):
            raise TypeError('RC2LTerm needs the dict outputs of a RegionHead '
                            'for the teacher')
        owner = self.owner_map(self.regions(weak.outputs))
        return F.interpolate(
            owner[:, None].float(),
            size=weak.labels.shape[-2:],
            mode='nearest')[:, 0].long()

    @staticmethod
    def owner_map(regions: TeacherRegions) -> Tensor:
        """The query that owns each pixel's segment, -1 where none does.

        Args:
            regions (TeacherRegions): (B, Q, h, w) regions.

        Returns:
            Tensor: (B, h, w) long.
        """
        segments = regions.segments > 0
        owner = segments.float().argmax(1)
        return torch.where(segments.any(1), owner, torch.full_like(owner, -1))

    @torch.no_grad()
    def view_regions(self, regions: TeacherRegions, record: TransformRecord,
                     size: Tuple[int, int]) -> TeacherRegions:
        """Weak-view regions moved into the strong views (see the class
        doc).

        Args:
            regions (TeacherRegions): the Q slots of the weak view
                (:meth:`weak_regions`), (Nu, Q, h', w').
            record (TransformRecord): the strong views' transform record.
            size (tuple[int, int]): (h, w), the student's mask resolution.

        Returns:
            TeacherRegions: G = 2Q slots (own queries, then the partner's)
            at (h, w), for the Nu * num_views strong views.
        """
        num_queries = regions.segments.shape[1]
        agreed = (
            regions.segments.any(1)
            if regions.agreed is None else regions.agreed)
        maps = torch.stack(
            [self.owner_map(regions),
             regions.known.long(),
             agreed.long()], 1)
        if tuple(maps.shape[-2:]) != tuple(record.size):
            maps = F.interpolate(
                maps.float(), size=record.size, mode='nearest').long()
        # -1 where the view holds no weak-view pixel: no owner, not known
        maps = project_target(record, maps, fill=-1)
        maps = torch.cat([maps, record.from_partner()[:, None].long()], 1)
        if tuple(maps.shape[-2:]) != tuple(size):
            maps = F.interpolate(
                maps.float(), size=size, mode='nearest').long()
        owner, known, agreed, pasted = maps.unbind(1)
        has = owner >= 0
        slot = torch.where(has, owner + num_queries * pasted,
                           torch.full_like(owner, 2 * num_queries))
        views = record.num_views

        def both(x: Tensor) -> Tensor:
            x = x.repeat(views, 1)
            return torch.cat([x, record.partner(x)], 1)

        return slot_regions(slot, known > 0, both(regions.labels),
                            both(regions.valid), has & (agreed > 0))

    def extra_repr(self) -> str:
        return (f'alpha={self.alpha}, betas={self.betas}, '
                f'tau_m={self.tau_m}, tau_f={self.tau_f}, '
                f'object_threshold={self.object_threshold}, '
                f'semantic_threshold={self.semantic_threshold}, '
                f'rmc_form={self.rmc_form!r}, rfc_form={self.rfc_form!r}, '
                f'rmc_negatives={self.rmc_negatives!r}, '
                f'rfc_negatives={self.rfc_negatives!r}, '
                f'rcc_eos_coef={self.rcc_eos_coef}, '
                f'smc_negatives={self.smc_negatives!r}, '
                f'deep_supervision={self.deep_supervision}')

    def floor(self, batch: SemiBatch, num_classes: int) -> Tensor:
        """The local floor of the normalisers (see the class doc).

        Args:
            batch (SemiBatch): the batch; ``labels[:num_labelled]`` hold the
                labelled images' ground truth.
            num_classes (int): K.

        Returns:
            Tensor: float scalar on the labels' device.
        """
        labels = batch.labels
        num_unlabelled = labels.shape[0] - batch.num_labelled
        if self.avg_factor_floor == 'none':
            return labels.new_ones((), dtype=torch.float)
        if self.avg_factor_floor == 'image' or batch.num_labelled == 0:
            return labels.new_tensor(float(num_unlabelled), dtype=torch.float)
        gt = labels[:batch.num_labelled].flatten(1)
        gt = torch.where((gt >= 0) & (gt < num_classes), gt, num_classes)
        present = torch.zeros(
            gt.shape[0], num_classes + 1, device=gt.device).scatter_(
                1, gt, 1.0)[:, :num_classes]
        return present.sum() * (num_unlabelled / batch.num_labelled)

    def forward(self, context: MethodContext) -> Dict[str, Tensor]:
        """The four region losses of the unlabelled part of a batch.

        Args:
            context (MethodContext): ``outputs``, the student
                :class:`RegionHead`'s outputs on ``batch.inputs`` (labelled
                + strong unlabelled): pred_logits (N, Q, K+1), pred_masks
                (N, Q, h, w), mask_features (N, C, h, w); ``batch``, whose
                ``teacher_outputs`` hold the teacher head's outputs on the
                weak unlabelled view (Nu images) and ``transform`` the
                strong views' record; ``rampup``.

        Returns:
            dict[str, Tensor]: ``loss_rmc``, ``loss_rfc``, ``loss_rcc``,
            ``loss_smc`` (each times alpha, its beta and the ramp-up), with
            ``deep_supervision`` the same with suffix ``_{i}`` for the
            student's auxiliary layer ``i``, and the statistics of the class
            doc.
        """
        outputs, batch = context.outputs, context.batch
        teacher = batch.teacher_outputs
        if not isinstance(outputs, dict) or not isinstance(teacher, dict):
            raise TypeError('RC2LTerm needs the dict outputs of a RegionHead '
                            'for the student and the teacher')
        start = batch.num_labelled
        cls_s = outputs['pred_logits'][start:]
        masks_s = outputs['pred_masks'][start:]
        feats_s = outputs['mask_features'][start:]
        num_classes = cls_s.shape[-1] - 1
        regions = self.weak_regions(batch)
        if batch.transform is not None:
            regions = self.view_regions(regions, batch.transform,
                                        masks_s.shape[-2:])
        elif masks_s.shape != teacher['pred_masks'].shape:
            raise ValueError(
                'student and teacher masks must be pixel-aligned without '
                'the strong view\'s transform record (batch.transform): got '
                f'{tuple(masks_s.shape)} (student, strong view) and '
                f'{tuple(teacher["pred_masks"].shape)} (teacher, weak view)')
        present = (one_hot(regions.labels, num_classes)
                   & regions.valid[..., None]).any(1)
        floor = self.floor(batch, num_classes).to(present.device)
        layers = [(cls_s, masks_s, '')]
        if self.deep_supervision:
            layers += [(aux['pred_logits'][start:], aux['pred_masks'][start:],
                        f'_{i}')
                       for i, aux in enumerate(outputs.get('aux_outputs', []))]
        targets = [
            self.layer_targets(cls, masks, regions) for cls, masks, _ in layers
        ]
        # one all-reduce for the counts of every layer
        counts = reduce_num_masks(
            torch.stack([
                torch.stack([
                    present.sum().float(), t['rmc_members'].sum().float(),
                    t['rfc_members'].sum().float(),
                    (t['matched'] >= 0).sum().float(), floor
                ]) for t in targets
            ]))
        smc_known = (segment_negatives(regions, num_classes)
                     if self.smc_negatives == 'segments' else regions.known)
        weight = self.alpha
        if self.use_rampup:
            weight = weight * context.rampup
        losses = {}
        for (cls, masks, suffix), layer, count in zip(layers, targets,
                                                      counts.unbind()):
            layer_terms = self.layer_losses(cls, masks, feats_s, regions,
                                            layer, count, smc_known)
            if not suffix:
                terms = layer_terms
            losses.update({
                name + suffix: weight * beta * value
                for name, beta, value in zip(self.LOSS_NAMES, self.betas,
                                             layer_terms)
            })
        if self.consistency_weight > 0:
            consistency = pixel_consistency_loss(
                semantic_inference(cls_s, masks_s), regions.labels,
                regions.segments,
                regions.agreed if self.consistency_pixels == 'agreed' else
                None)
            losses[self.CONSISTENCY_NAME] = (
                weight * self.consistency_weight * consistency)
            losses['consistency'] = consistency.detach()
        losses.update(
            self.statistics(regions, targets[0]['rfc_members'], terms, weight,
                            num_classes))
        if self.log_grad_norms:
            losses.update(self.grad_norms(losses, outputs))
        return losses

    def layer_targets(self, cls_logits: Tensor, mask_logits: Tensor,
                      regions: TeacherRegions) -> Dict[str, Tensor]:
        """The matching of one decoder layer and its contrast members.

        Args:
            cls_logits (Tensor): (Nu, Q, K+1) student class logits.
            mask_logits (Tensor): (Nu, Q, h, w) student mask logits.
            regions (TeacherRegions): the teacher's G slots at (h, w).

        Returns:
            dict[str, Tensor]: ``matched`` (Nu, G) long (sigma(i) for a
            region, else -1), ``ignored`` (Nu, G) long (the query matched
            to an unconfident segment, else -1), ``rmc_labels`` and
            ``rfc_labels`` (Nu, G) long or None (the classes when only
            other classes are negatives), ``rfc_matched`` (Nu, G) long
            (``matched`` without the empty binary masks of
            ``rfc=dict(form='paper')``, :func:`.nonempty_matched`),
            ``rmc_members`` and ``rfc_members`` (Nu, G) bool
            (:func:`.contrast_members`).
        """
        matched_any = self.matcher(cls_logits, mask_logits, regions.labels,
                                   regions.segments, regions.segment_valid)
        no_match = torch.full_like(matched_any, -1)
        matched = torch.where(regions.valid, matched_any, no_match)
        ignored = torch.where(regions.valid, no_match, matched_any)
        rmc_labels = (regions.labels
                      if self.rmc_negatives == 'other_classes' else None)
        rfc_labels = (regions.labels
                      if self.rfc_negatives == 'other_classes' else None)
        rfc_matched = matched
        if self.rfc_form == 'paper':
            rfc_matched = nonempty_matched(
                matched,
                binary_masks(mask_logits, regions.known, self.mask_threshold),
                regions.masks)
        rfc_members = contrast_members(rfc_matched, rfc_labels)
        rmc_members = (rfc_members if self.rmc_negatives == self.rfc_negatives
                       and self.rfc_form != 'paper' else contrast_members(
                           matched, rmc_labels))
        return dict(
            matched=matched,
            ignored=ignored,
            rmc_labels=rmc_labels,
            rfc_labels=rfc_labels,
            rfc_matched=rfc_matched,
            rmc_members=rmc_members,
            rfc_members=rfc_members)

    def layer_losses(self, cls_logits: Tensor, mask_logits: Tensor,
                     features: Tensor, regions: TeacherRegions,
                     targets: Dict[str, Tensor], counts: Tensor,
                     smc_known: Tensor) -> Tuple[Tensor, ...]:
        """The unweighted RMC, RFC, RCC and SMC of one decoder layer.

        Args:
            cls_logits (Tensor): (Nu, Q, K+1) student class logits.
            mask_logits (Tensor): (Nu, Q, h, w) student mask logits.
            features (Tensor): (Nu, C, h, w) student per-pixel features.
            regions (TeacherRegions): the teacher's G slots at (h, w).
            targets (dict): :meth:`layer_targets`.
            counts (Tensor): (5,) all-reduced counts: (image, class) pairs,
                RMC members, RFC members, matched regions, floor.
            smc_known (Tensor): (Nu, h, w) or (Nu, K, h, w) bool, SMC's
                known pixels.

        Returns:
            tuple[Tensor, ...]: four scalars.
        """
        num_pairs, num_rmc, num_rfc, num_matched, floor = counts.unbind()
        matched = targets['matched']
        return (
            rmc_loss(mask_logits, regions.masks, matched, regions.known,
                     self.tau_m, self.dice_eps, self.rmc_form,
                     torch.maximum(num_rmc, floor), targets['rmc_labels']),
            rfc_loss(mask_logits, regions.masks, features,
                     targets['rfc_matched'], regions.known, self.tau_f,
                     self.rfc_form, self.detach_target,
                     torch.maximum(num_rfc, floor), targets['rfc_labels'],
                     self.mask_threshold),
            rcc_loss(cls_logits, regions.labels, matched, targets['ignored'],
                     self.rcc_eos_coef, torch.maximum(num_matched, floor),
                     self.no_object_weight(mask_logits, regions.known)),
            smc_loss(cls_logits, mask_logits, regions.labels, regions.masks,
                     regions.valid, smc_known, self.smc_focal_weight,
                     self.smc_dice_weight, self.focal_alpha, self.focal_gamma,
                     torch.maximum(num_pairs, floor)),
        )

    def no_object_weight(self, mask_logits: Tensor,
                         known: Tensor) -> Optional[Tensor]:
        """Factor of each student query's 'no object' term in RCC.

        ``'known'``: the share of the query's soft mask on pixels inside a
        teacher region, ``sum_p sigmoid(m_p) known_p / sum_p sigmoid(m_p)``
        (no gradient): a query over ignored pixels may be an object the
        teacher is unsure of and is not taught 'no object'. ``'all'``: None
        (MaskFormer's weight for every unmatched query).

        Args:
            mask_logits (Tensor): (Nu, Q, h, w) student mask logits.
            known (Tensor): (Nu, h, w) bool, pixels inside a region.

        Returns:
            Tensor | None: (Nu, Q) in [0, 1].
        """
        if self.rcc_no_object == 'all':
            return None
        with torch.no_grad():
            probs = mask_logits.detach().float().sigmoid().flatten(2)
            inside = torch.einsum('bqp,bp->bq', probs,
                                  known.flatten(1).float())
            return inside / probs.sum(-1).clamp(min=1e-6)

    def statistics(self, regions, contrast: Tensor, terms: Sequence[Tensor],
                   weight: float, num_classes: int) -> Dict[str, Tensor]:
        """Detached statistics to log (keys without ``loss``).

        Args:
            regions (TeacherRegions): the teacher's regions.
            contrast (Tensor): (Nu, G) bool, the regions with an RFC
                negative (:func:`.contrast_members`).
            terms (Sequence[Tensor]): the unweighted RMC, RFC, RCC, SMC.
            weight (float): alpha times the ramp-up.
            num_classes (int): K.

        Returns:
            dict[str, Tensor]: float scalars, see the class doc.
        """
        valid = regions.valid
        num_images = max(valid.shape[0], 1)
        stats = {
            name[len('loss_'):]: value.detach()
            for name, value in zip(self.LOSS_NAMES, terms)
        }
        stats['rc2l_weight'] = valid.new_tensor(float(weight),
                                                dtype=torch.float)
        stats['num_regions'] = valid.sum().float() / num_images
        stats['num_contrast_regions'] = (
            contrast.sum().float() / num_images)
        stats['known_ratio'] = regions.known.float().mean()
        if self.log_class_regions:
            per_class = (one_hot(regions.labels, num_classes)
                         & valid[..., None]).flatten(0, 1).sum(0).float()
            per_class = per_class / num_images
            stats.update({
                f'regions_cls{k}': value
                for k, value in enumerate(per_class.unbind())
            })
        return stats

    def grad_norms(self, losses: Dict[str, Tensor],
                   outputs: Dict) -> Dict[str, Tensor]:
        """L2 norm of each weighted term's gradient at the head outputs.

        With ``deep_supervision`` a term is its sum over the decoder layers
        (``loss_{term}`` and every ``loss_{term}_{i}``), and the outputs
        include the auxiliary layers'.
        """
        heads = [outputs] + list(outputs.get('aux_outputs', []))
        inputs = [
            head[k] for head in heads
            for k in ('pred_logits', 'pred_masks', 'mask_features')
            if isinstance(head.get(k), Tensor) and head[k].requires_grad
        ]
        norms = {}
        names = self.LOSS_NAMES + ((self.CONSISTENCY_NAME, )
                                   if self.CONSISTENCY_NAME in losses else ())
        for name in names:
            value = sum(v for k, v in losses.items()
                        if k == name or (k.startswith(name + '_')
                                         and k[len(name) + 1:].isdigit()))
            key = 'grad_norm_' + name[len('loss_'):]
            if not inputs or not value.requires_grad:
                norms[key] = value.detach().new_zeros(())
                continue
            grads = torch.autograd.grad(
                value, inputs, retain_graph=True, allow_unused=True)
            norms[key] = torch.stack([
                g.detach().float().pow(2).sum()
                for g in grads if g is not None
            ] or [value.detach().new_zeros(())]).sum().sqrt()
        return norms
