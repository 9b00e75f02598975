"""S4GAN: adversarial semi-supervised segmentation with a mean teacher."""
import copy
from typing import Any, Dict, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from torch import Tensor
from torch.func import functional_call

from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, SampleList, add_prefix

from ..utils.head_outputs import batch_slice, head_logits
from ..utils.loss_dicts import rename_loss_dict
from .semi_segmentor import SemiSegmentor

#: S4GAN's ``semi_train_cfg`` keys and defaults, from the authors' code
#: (github.com/sud0301/semisup-semseg, ``train_s4GAN.py``: ``LAMBDA_FM``,
#: ``LAMBDA_ST``, ``THRESHOLD_ST``; its README trains Cityscapes with
#: ``--threshold-st 0.7``).
S4GAN_TRAIN_DEFAULTS = dict(
    # weight of the feature-matching loss L_fm
    lambda_fm=0.1,
    # weight of the self-training loss L_st
    lambda_st=1.0,
    # discriminator probability an unlabelled image must exceed to be
    # self-trained (0.6 for Pascal VOC / Context, 0.7 for Cityscapes)
    threshold_st=0.6,
    # which network's prediction is scored and becomes the pseudo-label:
    # 'teacher' (the EMA teacher, the mean-teacher frame of ReCo) or
    # 'student' (the segmentation network itself, as in S4GAN)
    pseudo_source='teacher',
)
PSEUDO_SOURCES = ('teacher', 'student')
#: Largest pixel value: images are scaled to [0, 1] for the discriminator.
PIXEL_MAX = 255.0


def one_hot_labels(labels: Tensor, num_classes: int,
                   ignore_index: int) -> Tensor:
    """One-hot maps of a label map; ignored pixels are all zero.

    Args:
        labels (Tensor): (N, H, W) long labels in [0, K) or ``ignore_index``.
        num_classes (int): K.
        ignore_index (int): label of unknown pixels.

    Returns:
        Tensor: (N, K, H, W) float32, as the authors' ``one_hot``.
    """
    valid = labels != ignore_index
    hot = F.one_hot(torch.where(valid, labels, 0), num_classes)
    return (hot * valid[..., None]).permute(0, 3, 1, 2).float()


def feature_matching_loss(real_feats: Tensor, fake_feats: Tensor) -> Tensor:
    """S4GAN's feature-matching loss L_fm of the segmentation network.

    The L1 distance between the batch means of the discriminator's pooled
    features on real (image + ground truth) and fake (image + prediction)
    pairs, averaged over channels, as the authors' ``train_s4GAN.py``
    computes it (``torch.mean(torch.abs(mean_real - mean_fake))``).

    Args:
        real_feats (Tensor): (Nr, C) features of real pairs.
        fake_feats (Tensor): (Nf, C) features of fake pairs.

    Returns:
        Tensor: scalar, computed in float32.
    """
    return (real_feats.float().mean(0) -
            fake_feats.float().mean(0)).abs().mean()


def self_training_loss(logits: Tensor, labels: Tensor, scores: Tensor,
                       threshold: float,
                       ignore_index: int) -> Tuple[Tensor, Tensor]:
    """S4GAN's self-training loss L_st on the images the filter passes.

    Cross-entropy of the logits against pseudo-labels, over the pixels of
    the images whose discriminator probability is strictly above
    ``threshold`` (the authors' ``find_good_maps``), averaged over their
    valid pixels. Vectorised: the filter is a per-image weight, so the loss
    is 0 (with a graph) when no image passes.

    Args:
        logits (Tensor): (N, K, H, W) logits of the segmentation network.
        labels (Tensor): (N, H, W) long pseudo-labels.
        scores (Tensor): (N,) discriminator probabilities in [0, 1].
        threshold (float): the filter threshold ``threshold_st``.
        ignore_index (int): label of pixels without a pseudo-label.

    Returns:
        tuple[Tensor, Tensor]: the scalar loss (float32) and the (N,) bool
        mask of the selected images.
    """
    selected = scores > threshold
    pixel_loss = F.cross_entropy(
        logits.float(), labels, reduction='none', ignore_index=ignore_index)
    weight = ((labels != ignore_index) & selected[:, None, None]).float()
    loss = (pixel_loss * weight).sum() / weight.sum().clamp(min=1)
    return loss, selected


def discriminator_loss(fake_logits: Tensor,
                       real_logits: Tensor) -> Dict[str, Tensor]:
    """The discriminator's loss L_D, as the authors' code computes it.

    Binary cross-entropy with "real" = 1 for image + ground truth and
    "fake" = 0 for image + prediction, ``(L_fake + L_real) / 2``.

    Args:
        fake_logits (Tensor): (Nf,) logits of fake pairs.
        real_logits (Tensor): (Nr,) logits of real pairs.

    Returns:
        dict[str, Tensor]: ``loss_fake`` and ``loss_real`` (each halved, so
        that their sum is L_D) and the mean probabilities ``score_fake`` and
        ``score_real`` (logged), all float32.
    """
    fake_logits, real_logits = fake_logits.float(), real_logits.float()
    return dict(
        loss_fake=0.5 * F.binary_cross_entropy_with_logits(
            fake_logits, torch.zeros_like(fake_logits)),
        loss_real=0.5 * F.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)),
        score_fake=fake_logits.detach().sigmoid().mean(),
        score_real=real_logits.detach().sigmoid().mean())


@MODELS.register_module()
class S4GANSegmentor(SemiSegmentor):
    """S4GAN (Mittal et al.) with an EMA teacher, trained by two optimisers.

    `Semi-Supervised Semantic Segmentation with High- and Low-level
    Consistency <https://arxiv.org/abs/1908.05724>`_ (TPAMI 2019), the
    baseline "S4GAN" of ReCo's Table 1. One training step
    (:meth:`train_step`), with ``optim_wrapper`` an ``OptimWrapperDict``
    keyed ``'student'`` and ``'discriminator'``::

        labelled (x_l, y_l), unlabelled x_u        (sup_aug / unsup_aug)
        logits   = student(cat(x_l, x_u))          one pass
        sup_*    : decode-head CE on the labelled logits
        real     = D_in(x_l, one_hot(y_l))
        fake     = D_in(x_u, softmax(logits_u))
        unsup_loss_fm = lambda_fm * L1(mean D_feat(real), mean D_feat(fake))
        pseudo, score = argmax / sigmoid(D) of the teacher's (or the
                        student's) prediction on x_u
        unsup_loss_st = lambda_st * CE(logits_u, pseudo) over the images with
                        score > threshold_st
        -> optim_wrapper['student'].update_params(sup + unsup)
        disc_*   : BCE(D(fake.detach()), 0) / 2 + BCE(D(real), 1) / 2
        -> optim_wrapper['discriminator'].update_params(disc)
        MeanTeacherHook: teacher <- EMA(student)

    The discriminator enters the student's losses with its parameters
    detached (``torch.func.functional_call``), so the student's update
    leaves no gradient in it, and its own update sees only detached
    predictions: both networks are updated from the same forward pass, as
    in the authors' code (which freezes D with ``requires_grad`` during the
    segmentation backward and steps both optimisers together). No
    ``requires_grad`` switching is needed, which keeps DDP's gradient
    reduction complete for both networks.

    Hyper-parameters (``semi_train_cfg``; defaults from the authors' code,
    github.com/sud0301/semisup-semseg ``train_s4GAN.py`` and its README):
    ``lambda_fm=0.1``, ``lambda_st=1.0``, ``threshold_st=0.6`` (Pascal VOC
    and Context; 0.7 for Cityscapes). The discriminator
    (:class:`S4GANDiscriminator`) is trained with Adam, lr 1e-4 (1e-5 for
    Cityscapes), betas (0.9, 0.99), polynomial decay (power 0.9); the
    segmentation network with the schedule it shares with the other
    methods (ReCo, arXiv 2104.04465, appendix A: SGD, lr 2.5e-3, momentum 0.9,
    weight decay 5e-4, poly 0.9; the authors of S4GAN use SGD with lr
    2.5e-4 for DeepLabv2). The optimisers are set in the configs
    (``configs/_base_/methods/s4gan.py``), not here.

    Differences from the authors' code:

    - **Mean teacher.** S4GAN's second branch, MLMT (a multi-label image
      classifier trained with a mean teacher, whose class predictions
      remove absent classes from the segmentation at test time; the
      "high-level" branch, while S4GAN's GAN branch is the "low-level"
      one), is not implemented. ReCo re-implements its baselines in one
      mean-teacher frame (ReCo, arXiv 2104.04465, section 3.3: "following [24,
      21]"), and its public code holds no S4GAN. Here the mean teacher is the
      EMA segmentation network (:class:`MeanTeacherHook`): with
      ``pseudo_source='teacher'`` (default) the discriminator scores the
      teacher's prediction on the unlabelled image, and the student is
      self-trained on the teacher's argmax where that score passes the
      filter; the teacher is evaluated (``semi_test_cfg``). With
      ``pseudo_source='student'`` the student's own prediction is scored
      and supervises itself, as in S4GAN.
    - **One batch.** The real pairs are the labelled images of the batch
      (the authors draw a second labelled batch); labelled and unlabelled
      images share one forward pass, so BatchNorm sees both.
    - **Images.** The discriminator's images are the de-normalised inputs
      divided by 255 (the authors min-max normalise each batch to [0, 1]).
    - The self-training loss is also applied at the first iteration (the
      authors skip it there; an untrained discriminator rarely passes an
      image anyway).

    Augmentation: ``sup_aug`` and ``unsup_aug`` (``StrongAugment`` without
    mixing) run on the device on the labelled and the unlabelled images,
    before anything else, so the teacher, the student and the discriminator
    all see the augmented images. ReCo augments every method's images with
    colour jitter, blur and flips (ReCo, arXiv 2104.04465, appendix A); S4GAN
    itself uses none. Give both the same photometric settings: the labelled
    images are the discriminator's real images and the unlabelled ones its fake
    images, so augmenting only one side would let it tell real from fake by
    colour.

    Under distributed training use
    ``model_wrapper_cfg=dict(type='MMSeparateDistributedDataParallel')``:
    mmengine's default wrapper cannot drive an ``OptimWrapperDict``. The
    student is therefore always called through ``forward(mode='tensor')``
    (its raw decode-head output), so auxiliary heads are not supported.

    Args:
        segmentor (dict): the mmseg segmentor (student and teacher), see
            :class:`SemiSegmentor`. Must not have an auxiliary head.
        discriminator (dict): the discriminator config, e.g.
            ``dict(type='S4GANDiscriminator')``; ``num_classes`` defaults to
            the segmentor's.
        sup_aug (dict, optional): augmentation of the labelled images, see
            above. Default: None.
        unsup_aug (dict, optional): augmentation of the unlabelled images,
            see above. Default: None.
        semi_train_cfg (dict, optional): :data:`S4GAN_TRAIN_DEFAULTS`
            (``lambda_fm``, ``lambda_st``, ``threshold_st``,
            ``pseudo_source``) and :class:`SemiSegmentor`'s keys, of which
            ``unsup_weight`` (a factor on both unsupervised losses),
            ``rampup_iters`` and ``ignore_index`` are used.
        semi_test_cfg (dict, optional): ``predict_on``, see
            :class:`SemiSegmentor`. Default: the teacher.
        train_cfg, test_cfg, pretrained: mmseg's, passed to the inner
            segmentor, see :class:`SemiSegmentor`. Default: None.
        data_preprocessor (dict, optional): ``SegDataPreProcessor`` config.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 segmentor: ConfigType,
                 discriminator: ConfigType,
                 sup_aug: OptConfigType = None,
                 unsup_aug: OptConfigType = None,
                 semi_train_cfg: OptConfigType = None,
                 semi_test_cfg: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        semi_train_cfg = dict(semi_train_cfg or {})
        own = {
            key: semi_train_cfg.pop(key)
            for key in list(semi_train_cfg) if key in S4GAN_TRAIN_DEFAULTS
        }
        super().__init__(
            segmentor=segmentor,
            strong_aug=None,
            sup_aug=sup_aug,
            pseudo_loss=None,
            method_losses=None,
            semi_train_cfg=semi_train_cfg,
            semi_test_cfg=semi_test_cfg,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.semi_train_cfg.update(
            self._merge(S4GAN_TRAIN_DEFAULTS, own, 'semi_train_cfg'))
        cfg = self.semi_train_cfg
        if cfg.pseudo_source not in PSEUDO_SOURCES:
            raise ValueError(f'pseudo_source must be one of {PSEUDO_SOURCES},'
                             f' got {cfg.pseudo_source!r}')
        if not 0 <= cfg.threshold_st <= 1:
            raise ValueError(
                f'threshold_st must be in [0, 1], got {cfg.threshold_st}')
        if self.student.with_auxiliary_head:
            raise ValueError('S4GANSegmentor does not support auxiliary '
                             'heads; remove auxiliary_head from the segmentor')
        self.unsup_aug = MODELS.build(unsup_aug) if unsup_aug else None
        discriminator = copy.deepcopy(discriminator)
        discriminator.setdefault('num_classes', self.student.num_classes)
        self.discriminator = MODELS.build(discriminator)

    # ------------------------------------------------------------------
    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        """One S4GAN step: update the student, then the discriminator.

        Args:
            data (dict): a batch from the dataloader (``inputs``,
                ``data_samples``).
            optim_wrapper (OptimWrapperDict): wrappers ``'student'`` and
                ``'discriminator'`` (``MultiOptimWrapperConstructor``).

        Returns:
            dict[str, Tensor]: the logged values: ``loss`` (the student's
            total), ``sup_*``, ``unsup_*``, ``disc_loss`` (the
            discriminator's total) and ``disc_*``.
        """
        student_wrapper = optim_wrapper['student']
        disc_wrapper = optim_wrapper['discriminator']
        with student_wrapper.optim_context(self.student):
            data = self.data_preprocessor(data, True)
            losses, (fake, real) = self.loss_student(**data)
        loss, log_vars = self.parse_losses(losses)
        student_wrapper.update_params(loss)

        with disc_wrapper.optim_context(self.discriminator):
            disc_losses = self.loss_discriminator(fake, real)
        disc_loss, disc_log_vars = self.parse_losses(disc_losses)
        disc_wrapper.update_params(disc_loss)

        disc_log_vars['disc_loss'] = disc_log_vars.pop('loss')
        log_vars.update(disc_log_vars)
        return log_vars

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """All losses of one step, for ``forward(mode='loss')``.

        The student's and the discriminator's losses depend on disjoint
        parameters, so their sum can also be minimised by one optimiser over
        both networks; :meth:`train_step` uses two.
        """
        losses, (fake, real) = self.loss_student(inputs, data_samples)
        losses.update(self.loss_discriminator(fake, real))
        return losses

    def loss_student(self, inputs: Tensor, data_samples: SampleList
                     ) -> Tuple[Dict[str, Tensor], Tuple[Tensor, Tensor]]:
        """The segmentation network's losses (see the class doc).

        Args:
            inputs (Tensor): (N, 3, H, W) normalised images, labelled and
                unlabelled.
            data_samples (list[SegDataSample]): labelled samples carry
                ``gt_sem_seg``.

        Returns:
            tuple: the losses (``sup_*``, ``unsup_loss_fm``,
            ``unsup_loss_st`` and the logged ``unsup_st_ratio``, the share
            of unlabelled images passing the filter, and ``unsup_score``,
            their mean discriminator probability) and the discriminator's
            inputs ``(fake, real)``: (Nu, 3+K, H, W) detached and
            (Nl, 3+K, H, W).

        Raises:
            ValueError: if the batch has no unlabelled image.
        """
        (sup_inputs, sup_samples, unsup_inputs,
         unsup_samples) = self.split_batch(inputs, data_samples)
        if unsup_inputs is None:
            raise ValueError('S4GAN needs unlabelled images in every batch; '
                             'check the sampler (num_labelled < batch_size)')
        cfg = self.semi_train_cfg
        gt = self._gt_labels(sup_samples)
        if self.sup_aug is not None:
            sup_inputs, gt, _, _ = self._augment(self.sup_aug, sup_inputs, gt)
            self._set_gt_labels(sup_samples, gt)
        if self.unsup_aug is not None:
            no_labels = unsup_inputs.new_full(
                (unsup_inputs.shape[0], *unsup_inputs.shape[2:]),
                cfg.ignore_index,
                dtype=torch.long)
            unsup_inputs, _, _, _ = self._augment(self.unsup_aug, unsup_inputs,
                                                  no_labels)
        num_labelled = sup_inputs.shape[0]

        outputs = self.student(
            torch.cat([sup_inputs, unsup_inputs]), mode='tensor')
        losses = self.loss_by_head(
            batch_slice(outputs, slice(0, num_labelled)), sup_samples)
        logits = self.upsample(head_logits(outputs)[num_labelled:],
                               inputs.shape[2:])

        real = self.discriminator_input(
            sup_inputs,
            one_hot_labels(gt, self.num_classes, cfg.ignore_index))
        fake = self.discriminator_input(unsup_inputs, logits.softmax(dim=1))
        with torch.no_grad():
            _, real_feats = self.frozen_discriminator(real)
        fake_logits, fake_feats = self.frozen_discriminator(fake)

        pseudo, scores = self.get_s4gan_pseudo_labels(unsup_inputs, logits,
                                                      fake_logits)
        loss_st, selected = self_training_loss(logits, pseudo, scores,
                                               cfg.threshold_st,
                                               cfg.ignore_index)
        weight = cfg.unsup_weight * self.rampup()
        losses.update(
            rename_loss_dict(
                'unsup_',
                dict(
                    loss_fm=cfg.lambda_fm * weight *
                    feature_matching_loss(real_feats, fake_feats),
                    loss_st=cfg.lambda_st * weight * loss_st,
                    st_ratio=selected.float().mean(),
                    score=scores.mean())))
        return losses, (fake.detach(), real)

    def loss_discriminator(self, fake: Tensor,
                           real: Tensor) -> Dict[str, Tensor]:
        """The discriminator's losses on detached fake and real pairs.

        Args:
            fake (Tensor): (Nf, 3+K, H, W) image + prediction, detached.
            real (Tensor): (Nr, 3+K, H, W) image + one-hot ground truth.

        Returns:
            dict[str, Tensor]: ``disc_loss_fake``, ``disc_loss_real`` and
            the logged ``disc_score_fake``, ``disc_score_real``.
        """
        logits, _ = self.discriminator(torch.cat([fake, real]))
        num_fake = fake.shape[0]
        return rename_loss_dict(
            'disc_',
            discriminator_loss(logits[:num_fake], logits[num_fake:]))

    # ------------------------------------------------------------------
    @torch.no_grad()
    def get_s4gan_pseudo_labels(self, unsup_inputs: Tensor,
                                student_logits: Tensor,
                                fake_logits: Tensor) -> Tuple[Tensor, Tensor]:
        """Pseudo-labels and discriminator scores of the unlabelled images.

        Args:
            unsup_inputs (Tensor): (Nu, 3, H, W) normalised weak views.
            student_logits (Tensor): (Nu, K, H, W) the student's logits.
            fake_logits (Tensor): (Nu,) the discriminator's logits of the
                student's prediction.

        Returns:
            tuple[Tensor, Tensor]: pseudo-labels (Nu, H, W) long (the
            argmax of the ``pseudo_source`` network's prediction) and its
            discriminator probability (Nu,) in float32.
        """
        if self.semi_train_cfg.pseudo_source == 'student':
            return student_logits.argmax(dim=1), fake_logits.float().sigmoid()
        feats = self.teacher.extract_feat(unsup_inputs)
        logits = self.upsample(
            head_logits(self.teacher.decode_head.forward(feats)),
            unsup_inputs.shape[2:])
        probs = logits.softmax(dim=1)
        scores, _ = self.frozen_discriminator(
            self.discriminator_input(unsup_inputs, probs))
        return probs.argmax(dim=1), scores.float().sigmoid()

    def loss_by_head(self, outputs: Any, data_samples: SampleList) -> dict:
        """The student's decode-head losses on labelled outputs (``sup_``)."""
        head = self._unwrap(self.student).decode_head
        return rename_loss_dict(
            'sup_',
            add_prefix(head.loss_by_feat(outputs, data_samples), 'decode'))

    def frozen_discriminator(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """The discriminator with detached parameters (gradient to x only).

        Args:
            x (Tensor): (N, 3+K, H, W) discriminator inputs.

        Returns:
            tuple[Tensor, Tensor]: logits (N,) and features (N, C).
        """
        disc = self._unwrap(self.discriminator)
        params = {name: p.detach() for name, p in disc.named_parameters()}
        return functional_call(disc, params, (x, ))

    def discriminator_input(self, inputs: Tensor, maps: Tensor) -> Tensor:
        """Images in [0, 1] concatenated with K segmentation maps.

        Args:
            inputs (Tensor): (N, 3, H, W) normalised images.
            maps (Tensor): (N, K, H, W) probabilities or one-hot labels.

        Returns:
            Tensor: (N, 3+K, H, W), in the dtype of ``maps``.
        """
        pre = self.data_preprocessor
        images = inputs * pre.std + pre.mean if pre._enable_normalize \
            else inputs
        return torch.cat([(images / PIXEL_MAX).to(maps.dtype), maps], dim=1)

    def upsample(self, logits: Tensor, size: Tuple[int, int]) -> Tensor:
        """Logits (N, K, h, w) resized to (N, K, H, W), in float32."""
        return resize(
            logits.float(),
            size=size,
            mode='bilinear',
            align_corners=self.align_corners)

    @staticmethod
    def _unwrap(module: torch.nn.Module) -> torch.nn.Module:
        """The module inside a DDP wrapper (itself when not wrapped)."""
        return module.module if is_model_wrapper(module) else module

    @property
    def align_corners(self) -> bool:
        return self._unwrap(self.student).align_corners

    @property
    def num_classes(self) -> int:
        return self._unwrap(self.student).num_classes
