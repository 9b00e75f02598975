"""Semi-supervised segmentor shared by every method: a student and its
pseudo-labeller (an EMA teacher, or the student itself)."""
import copy
import math
from typing import Any, List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.logging import MessageHub
from mmengine.structures import PixelData
from torch import Tensor

from mmseg.models.segmentors import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, SampleList, add_prefix

from ..utils.head_outputs import (batch_cat, batch_detach, batch_slice,
                                  head_logits)
from ..utils.loss_dicts import rename_loss_dict, reweight_loss_dict
from ..augmentation.semi_batch import SemiBatch, WeakPass
from ..augmentation.transform_record import TransformRecord
from ..semi_methods.method_context import MethodContext

#: ``semi_train_cfg`` keys and their defaults (ReCo, Liu et al., ICLR 2022,
#: arXiv 2104.04465).
SEMI_TRAIN_DEFAULTS = dict(
    # weight of the confidence-weighted pseudo-label CE (Eq. 6); 0 disables
    unsup_weight=1.0,
    # sigmoid ramp-up of every unsupervised weight over this many iterations
    # (0: none, ReCo's default)
    rampup_iters=0,
    ignore_index=255,
    # 'separate': the student runs once on the labelled batch and once on the
    # strong unlabelled batch, so BatchNorm normalises each with its own
    # statistics (the authors' training step); 'joint': one pass over both
    student_forward='separate',
    # weight of the supervised losses (UniMatch: 0.5, its total is
    # (sup + unsup) / 2)
    sup_weight=1.0,
    # strong views per unlabelled image, each with its own random draws
    # (UniMatch's dual-stream perturbation: 2)
    strong_views=1,
)
SEMI_TEST_DEFAULTS = dict(predict_on='teacher', predict_both=False)
STUDENT_FORWARDS = ('separate', 'joint')
#: ``SemiSegmentor(teacher=...)``: an EMA teacher, or the student itself
TEACHERS = ('ema', 'self')


@MODELS.register_module()
class SemiSegmentor(BaseSegmentor):
    """A student and its pseudo-labeller, of one mmseg segmentor.

    One training step (:meth:`loss`)::

        labelled, unlabelled = split_batch(batch)       (gt present or not)
        labelled             = labelled_view(labelled)   sup_aug
        weak                 = weak_pass(labelled, unlabelled)   pseudo-labels
                               of the weak view, no grad (teacher='ema': the
                               teacher; 'self': the student's own pass over
                               labelled + weak images); partial labels win
        batch                = strong_view(...)   ``strong_views`` strong
                               views of the unlabelled images, their
                               pseudo-labels and the transform record
        outputs              = student(labelled), student(strong views)
                               ('self': the labelled outputs of weak_pass)
        losses  = sup_*   : the student's decode/auxiliary head losses (gt)
                + unsup_* : eta-weighted CE on the mixed pseudo-labels
                + unsup_* : every ``method_losses`` term (ReCo, memory bank,
                            region losses, FixMatch/UniMatch ...), given a
                            MethodContext (outputs, the SemiBatch, ...)

    **Pseudo-labeller** (``teacher``). ``'ema'`` (ReCo's mean teacher): a
    second copy of the segmentor, updated by :class:`MeanTeacherHook` after
    each optimiser step; it never receives gradients. ``'self'`` (FixMatch,
    UniMatch, arXiv 2208.09910): no second copy and no EMA; the student
    labels its own weak view without gradient. As in the authors' code it
    does so in the training pass of the labelled images (one backbone pass
    over labelled + weak images, BatchNorm statistics of both, the head's
    own dropout on), whose weak features :class:`FeaturePerturbationTerm`
    reuses. ``teacher`` is then the student itself (not a registered
    module: the checkpoint holds ``student.*`` only), so predicting on the
    ``'teacher'`` predicts with the student; configure no
    :class:`MeanTeacherHook`.

    Methods plug in through ``method_losses``: registered modules called
    as ``term(context) -> dict`` with a :class:`MethodContext` (the
    student's outputs, the :class:`SemiBatch`, the student and the teacher
    for terms that run them, the ramp-up), so no method-specific code lives
    here and no term reads the segmentor.

    **Strong-view targets.** The strong view moves pixels (rescale + crop,
    mixing, flip) and records how (``SemiBatch.transform``, a
    :class:`TransformRecord`); it carries the teacher's pixel
    pseudo-labels and their confidence, and a method whose targets are
    not pixel pseudo-labels (RC2L's teacher regions) maps its own targets
    of the weak view through the record (:func:`project_target`). A term
    may define ``term.mix_labels(weak) -> Tensor``, the (Nu, H, W) long
    map whose classes ClassMix selects instead of the pseudo-labels (RC2L:
    the teacher's segments); at most one term may.

    Args:
        segmentor (dict): an ordinary mmseg segmentor config (e.g.
            ``EncoderDecoder``), built twice: student and teacher (once
            with ``teacher='self'``). Its
            ``data_preprocessor`` is used when ``data_preprocessor`` is None.
        strong_aug (dict, optional): the on-device strong augmentation of the
            unlabelled images (``StrongAugment`` with ClassMix, CutMix, CutOut
            or no mixing). None trains on labelled images only (supervised
            baseline).
        sup_aug (dict, optional): on-device photometric augmentation of the
            labelled images (``StrongAugment`` without mixing).
        pseudo_loss (dict, optional): the pseudo-label loss. Default:
            ``PseudoLabelCELoss`` (Eq. 6).
        method_losses (list[dict], optional): method terms, see above.
        teacher (str): the pseudo-labeller, ``'ema'`` or ``'self'`` (see
            above). Default: 'ema'.
        semi_train_cfg (dict, optional): overrides of
            :data:`SEMI_TRAIN_DEFAULTS` (``unsup_weight``,
            ``rampup_iters``, ``ignore_index``, ``student_forward``,
            ``sup_weight``, ``strong_views``). An unknown key raises a
            ``KeyError`` naming it. ``sup_weight`` scales the supervised
            losses; ``strong_views`` strong views of every unlabelled image
            are drawn independently (mixing partner's box, jitter, blur) and
            stacked view after view in the batch (``SemiBatch.num_views``).
            ``student_forward='separate'`` (default, the authors' step) runs
            the student on the labelled and on the strong unlabelled images in
            two passes, so that BatchNorm normalises each batch with its own
            statistics; ``'joint'`` runs one pass over their concatenation (one
            set of statistics, fewer kernel launches). Both give the same
            losses for a model without batch-dependent layers. With
            ``teacher='self'`` the labelled images run in the weak pass and
            the strong views in one further pass: it must be 'separate'.
        semi_test_cfg (dict, optional): ``predict_on``: ``'teacher'``
            (ReCo's evaluation, default) or ``'student'``;
            ``predict_both``: also predict with the other model and store
            both predictions as ``teacher_pred_sem_seg`` and
            ``student_pred_sem_seg`` in every data sample (evaluate both
            with ``PerClassIoUMetric(pred_key=...)``). Default: False.
        train_cfg (dict, optional): mmseg's ``train_cfg``, passed to the
            inner segmentor (student and teacher) in place of its own.
            None keeps the inner segmentor's. Default: None.
        test_cfg (dict, optional): mmseg's ``test_cfg`` (``mode='whole'``,
            or ``mode='slide'`` with ``crop_size`` and ``stride``), passed
            to the inner segmentor in place of its own, so that the teacher
            and the student predict with it. None keeps the inner
            segmentor's. Default: None.
        pretrained (str, optional): mmseg's ``pretrained``, passed to the
            inner segmentor when not None (``mmseg.apis.init_model`` sets
            it to None). Default: None.
        data_preprocessor (dict, optional): ``SegDataPreProcessor`` config.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 segmentor: ConfigType,
                 strong_aug: OptConfigType = None,
                 sup_aug: OptConfigType = None,
                 pseudo_loss: OptConfigType = dict(type='PseudoLabelCELoss'),
                 method_losses: Optional[List[ConfigType]] = None,
                 semi_train_cfg: OptConfigType = None,
                 semi_test_cfg: OptConfigType = None,
                 teacher: str = 'ema',
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        segmentor = copy.deepcopy(segmentor)
        if not isinstance(segmentor, dict) or 'type' not in segmentor:
            raise TypeError('segmentor must be a segmentor config dict with '
                            f'a type, got {segmentor!r}')
        for key, value in (('train_cfg', train_cfg), ('test_cfg', test_cfg),
                           ('pretrained', pretrained)):
            if value is not None:
                segmentor[key] = copy.deepcopy(value)
        seg_preprocessor = segmentor.pop('data_preprocessor', None)
        super().__init__(
            data_preprocessor=data_preprocessor or seg_preprocessor,
            init_cfg=init_cfg)
        if teacher not in TEACHERS:
            raise ValueError(f'SemiSegmentor: teacher must be one of '
                             f'{TEACHERS}, got {teacher!r}')
        self.teacher_type = teacher
        # mmseg's builders may edit the config they get: one copy each
        self.student = MODELS.build(copy.deepcopy(segmentor))
        if teacher == 'ema':
            # registered as a sub-module by nn.Module.__setattr__; the
            # ``teacher`` property reads it back
            self.teacher = MODELS.build(copy.deepcopy(segmentor))
            self.teacher.requires_grad_(False)
        self.semi_train_cfg = self._merge(SEMI_TRAIN_DEFAULTS, semi_train_cfg,
                                          'semi_train_cfg')
        self.semi_test_cfg = self._merge(SEMI_TEST_DEFAULTS, semi_test_cfg,
                                         'semi_test_cfg')
        if self.semi_test_cfg.predict_on not in ('teacher', 'student'):
            raise ValueError("semi_test_cfg.predict_on must be 'teacher' or "
                             f"'student', got {self.semi_test_cfg.predict_on}")
        if self.semi_train_cfg.student_forward not in STUDENT_FORWARDS:
            raise ValueError(
                f'semi_train_cfg.student_forward must be one of '
                f'{STUDENT_FORWARDS}, got '
                f'{self.semi_train_cfg.student_forward!r}')
        if teacher == 'self' and \
                self.semi_train_cfg.student_forward != 'separate':
            raise ValueError(
                "teacher='self' runs the labelled images with the weak view "
                "and the strong views apart; set semi_train_cfg."
                "student_forward='separate'")
        if int(self.semi_train_cfg.strong_views) < 1:
            raise ValueError('semi_train_cfg.strong_views must be >= 1, got '
                             f'{self.semi_train_cfg.strong_views}')
        self.strong_aug = MODELS.build(strong_aug) if strong_aug else None
        self.sup_aug = MODELS.build(sup_aug) if sup_aug else None
        self.pseudo_loss = MODELS.build(pseudo_loss) if pseudo_loss else None
        self.method_losses = nn.ModuleList(
            MODELS.build(cfg) for cfg in (method_losses or []))
        # an index, not the module: a second attribute would register the
        # term twice in the state dict
        self._mix_term_index = self._find_mix_term()

    @property
    def teacher(self) -> nn.Module:
        """The pseudo-labeller: the EMA teacher, or the student itself
        (``teacher='self'``)."""
        teacher = self._modules.get('teacher')
        return self.student if teacher is None else teacher

    def _find_mix_term(self) -> Optional[int]:
        """Index of the method term that defines ``mix_labels``, or None.

        Raises:
            ValueError: if several terms define it.
        """
        found = [
            index for index, term in enumerate(self.method_losses)
            if callable(getattr(term, 'mix_labels', None))
        ]
        if len(found) > 1:
            names = ', '.join(
                type(self.method_losses[i]).__name__ for i in found)
            raise ValueError(
                'at most one method term may define mix_labels (ClassMix '
                f'selects from one map), got {names}')
        return found[0] if found else None

    @staticmethod
    def _merge(defaults: dict, given: Optional[dict], name: str) -> ConfigDict:
        given = dict(given or {})
        unknown = sorted(set(given) - set(defaults))
        if unknown:
            raise KeyError(f'unknown {name} key(s) {unknown}; valid keys are '
                           f'{sorted(defaults)}')
        return ConfigDict({**defaults, **given})

    # ------------------------------------------------------------------
    # mmseg's BaseSegmentor interface: delegate to the evaluated model
    @property
    def eval_model(self) -> nn.Module:
        return getattr(self, self.semi_test_cfg.predict_on)

    @property
    def test_cfg(self) -> Optional[ConfigDict]:
        """The evaluated model's ``test_cfg``; setting it sets both."""
        return self.eval_model.test_cfg

    @test_cfg.setter
    def test_cfg(self, cfg: OptConfigType) -> None:
        self.student.test_cfg = cfg
        self.teacher.test_cfg = cfg

    @property
    def decode_head(self) -> nn.Module:
        """The evaluated model's decode head (mmseg's ``init_model`` reads
        its ``num_classes`` when a checkpoint has no class names)."""
        return self.eval_model.decode_head

    @property
    def out_channels(self) -> int:
        return self.eval_model.out_channels

    @property
    def align_corners(self) -> bool:
        return self.student.align_corners

    @property
    def num_classes(self) -> int:
        return self.student.num_classes

    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        return self.eval_model.extract_feat(inputs)

    def encode_decode(self, inputs: Tensor,
                      batch_data_samples: SampleList) -> Tensor:
        return self.eval_model.encode_decode(inputs, batch_data_samples)

    def predict(self,
                inputs: Tensor,
                data_samples: Optional[SampleList] = None) -> SampleList:
        """Predict with the teacher or the student (``semi_test_cfg``).

        With ``predict_both`` the other model predicts too, and each sample
        holds ``teacher_pred_sem_seg`` and ``student_pred_sem_seg`` besides
        the evaluated model's ``pred_sem_seg``.
        """
        if not self.semi_test_cfg.predict_both:
            return self.eval_model.predict(inputs, data_samples)
        main = self.semi_test_cfg.predict_on
        other = 'student' if main == 'teacher' else 'teacher'
        samples = getattr(self, other).predict(inputs, data_samples)
        stashed = [s.pred_sem_seg for s in samples]
        samples = self.eval_model.predict(inputs, samples)
        for sample, pred in zip(samples, stashed):
            sample.set_field(pred, f'{other}_pred_sem_seg')
            sample.set_field(sample.pred_sem_seg, f'{main}_pred_sem_seg')
        return samples

    def _forward(self,
                 inputs: Tensor,
                 data_samples: Optional[SampleList] = None) -> Any:
        return self.eval_model._forward(inputs, data_samples)

    # ------------------------------------------------------------------
    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """The semi-supervised losses of one batch (see the class doc)."""
        (sup_inputs, sup_samples, unsup_inputs,
         unsup_samples) = self.split_batch(inputs, data_samples)
        if self.strong_aug is None or unsup_inputs is None:
            return self.loss_supervised(sup_inputs, sup_samples)
        sup_inputs = self.labelled_view(sup_inputs, sup_samples)
        weak = self.weak_pass(sup_inputs, unsup_inputs, unsup_samples)
        batch = self.strong_view(sup_inputs, sup_samples, weak)
        feats, outputs = self.student_forward(batch)
        losses = self.loss_by_gt(feats, outputs, batch)
        losses.update(self.loss_by_pseudo(outputs, batch))
        return losses

    def loss_supervised(self, inputs: Tensor,
                        data_samples: SampleList) -> dict:
        """Labelled-only training (the supervised baseline)."""
        inputs = self.labelled_view(inputs, data_samples)
        losses = self.student.loss(inputs, data_samples)
        return rename_loss_dict(
            'sup_', reweight_loss_dict(losses, self.semi_train_cfg.sup_weight))

    def labelled_view(self, inputs: Tensor,
                      data_samples: SampleList) -> Tensor:
        """Labelled images after ``sup_aug`` (their samples' labels too).

        Args:
            inputs (Tensor): (Nl, 3, H, W) labelled images.
            data_samples (list[SegDataSample]): their samples, whose
                ``gt_sem_seg`` is replaced by the augmented labels.

        Returns:
            Tensor: (Nl, 3, H, W) images.
        """
        if self.sup_aug is None:
            return inputs
        inputs, gt, _, _ = self._augment(self.sup_aug, inputs,
                                         self._gt_labels(data_samples))
        self._set_gt_labels(data_samples, gt)
        return inputs

    def weak_pass(self, sup_inputs: Tensor, unsup_inputs: Tensor,
                  unsup_samples: SampleList) -> WeakPass:
        """Pseudo-labels of the weak view, partial labels merged in.

        ``teacher='ema'``: the teacher on the weak images
        (:meth:`get_pseudo_labels`). ``teacher='self'``: one student pass
        over the labelled and the weak images (with gradient, for the
        labelled losses and the feature-perturbation stream); the weak
        images' predictions, detached, are the pseudo-labels.

        Args:
            sup_inputs (Tensor): (Nl, 3, H, W) labelled images.
            unsup_inputs (Tensor): (Nu, 3, H, W) weak unlabelled images.
            unsup_samples (list[SegDataSample]): their samples.

        Returns:
            WeakPass: pseudo-labels and confidence (Nu, H, W), the raw
            outputs without gradient and, with ``'self'``, the student's
            features and labelled outputs.
        """
        if self.teacher_type == 'ema':
            pseudo, conf, outputs = self.get_pseudo_labels(
                unsup_inputs, unsup_samples)
            weak = WeakPass(unsup_inputs, pseudo, conf, outputs)
        else:
            num = sup_inputs.shape[0]
            feats = self.student.extract_feat(
                torch.cat([sup_inputs, unsup_inputs]))
            outputs = self.student.decode_head.forward(feats)
            weak_outputs = batch_detach(batch_slice(outputs, slice(num, None)))
            pseudo, conf = self.pseudo_labels_of(weak_outputs,
                                                 unsup_inputs.shape[2:])
            weak = WeakPass(
                unsup_inputs,
                pseudo,
                conf,
                weak_outputs,
                student_feats=[f[num:] for f in feats],
                labelled_feats=[f[:num] for f in feats],
                labelled_outputs=batch_slice(outputs, slice(0, num)))
        weak.labels, weak.confidence = self.merge_partial_labels(
            weak.labels, weak.confidence, unsup_samples)
        return weak

    def split_batch(
        self, inputs: Tensor, data_samples: SampleList
    ) -> Tuple[Tensor, SampleList, Optional[Tensor], SampleList]:
        """Split the batch into labelled and unlabelled samples.

        A sample is unlabelled when it has no ``gt_sem_seg`` or when its
        meta information holds ``unlabelled=True`` (``MarkUnlabelled``: an
        image of ReCo's partial-label protocol, whose labels then override
        the pseudo-labels, see :meth:`merge_partial_labels`).

        Returns:
            tuple: labelled inputs (Nl, 3, H, W) and samples, unlabelled
            inputs (Nu, 3, H, W) or None, and their samples.
        """
        is_sup = [('gt_sem_seg' in s and not s.metainfo.get('unlabelled'))
                  for s in data_samples]
        if not any(is_sup):
            raise ValueError('a semi-supervised batch holds no labelled '
                             'sample; check the sampler (num_labelled)')
        sup_idx = [i for i, s in enumerate(is_sup) if s]
        unsup_idx = [i for i, s in enumerate(is_sup) if not s]
        sup = (inputs[sup_idx], [data_samples[i] for i in sup_idx])
        if not unsup_idx:
            return sup + (None, [])
        return sup + (inputs[unsup_idx], [data_samples[i] for i in unsup_idx])

    @torch.no_grad()
    def get_pseudo_labels(self, inputs: Tensor, data_samples: SampleList
                          ) -> Tuple[Tensor, Tensor, Any]:
        """Teacher pseudo-labels on the weak view (no gradient).

        The teacher runs in the mode :class:`MeanTeacherHook` keeps it in
        (ReCo: train mode, so BN uses batch statistics).

        Returns:
            tuple: pseudo-labels (Nu, H, W) long, confidence (Nu, H, W) (the
            maximum softmax probability) and the raw teacher head outputs.
        """
        feats = self.teacher.extract_feat(inputs)
        outputs = self.teacher.decode_head.forward(feats)
        pseudo, conf = self.pseudo_labels_of(outputs, inputs.shape[2:])
        return pseudo, conf, outputs

    @torch.no_grad()
    def pseudo_labels_of(self, outputs: Any,
                         size: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
        """Argmax and maximum softmax probability of a head's logits.

        Args:
            outputs: raw head outputs, logits (Nu, K, h, w).
            size (tuple[int, int]): (H, W) to resize the logits to
                (bilinear).

        Returns:
            tuple[Tensor, Tensor]: pseudo-labels (Nu, H, W) long and their
            confidence (Nu, H, W).
        """
        logits = resize(
            head_logits(outputs).float(),
            size=size,
            mode='bilinear',
            align_corners=self.align_corners)
        conf, pseudo = torch.softmax(logits, dim=1).max(dim=1)
        return pseudo, conf

    def merge_partial_labels(self, pseudo: Tensor, conf: Tensor,
                             data_samples: SampleList
                             ) -> Tuple[Tensor, Tensor]:
        """Ground truth of unlabelled samples overrides the pseudo-labels.

        ReCo's partial-label protocol (arXiv 2104.04465, Table 3): every
        training image is also unlabelled and keeps its partial labels. Where
        such a label is known (not ``ignore_index``), it replaces the teacher's
        pseudo-label with confidence 1, before the strong view is built (as the
        authors' ``train_semisup_partial.py``). Samples without
        ``gt_sem_seg`` keep their pseudo-labels.

        Args:
            pseudo (Tensor): (Nu, H, W) long teacher pseudo-labels.
            conf (Tensor): (Nu, H, W) their confidence.
            data_samples (list[SegDataSample]): the unlabelled samples.

        Returns:
            tuple[Tensor, Tensor]: pseudo-labels (Nu, H, W) and confidence
            (Nu, H, W) with the known labels merged in.
        """
        if not any('gt_sem_seg' in s for s in data_samples):
            return pseudo, conf
        ignore = self.semi_train_cfg.ignore_index
        gt = torch.stack([
            s.gt_sem_seg.data[0].to(pseudo.device)
            if 'gt_sem_seg' in s else torch.full_like(pseudo[0], ignore)
            for s in data_samples
        ]).long()
        known = gt != ignore
        return (torch.where(known, gt, pseudo),
                torch.where(known, torch.ones_like(conf), conf))

    @torch.no_grad()
    def mix_labels(self, weak: WeakPass) -> Optional[Tensor]:
        """The map ClassMix selects from, if a method term gives one.

        Args:
            weak (WeakPass): the pass over the weak view.

        Returns:
            Tensor, optional: (Nu, H, W) long, or None (the pseudo-labels).
        """
        if self._mix_term_index is None:
            return None
        term = self.method_losses[self._mix_term_index]
        labels = term.mix_labels(weak)
        if labels.shape != weak.labels.shape:
            raise ValueError(
                f'{type(term).__name__}.mix_labels must return a '
                f'{tuple(weak.labels.shape)} map, got {tuple(labels.shape)}')
        return labels.long()

    def strong_view(self, sup_inputs: Tensor, sup_samples: SampleList,
                    weak: WeakPass) -> SemiBatch:
        """Student inputs: labelled images and strong unlabelled views.

        Each strong view is built on the device from the same crop the
        teacher saw (rescale + crop, mixing, flip, colour jitter, blur),
        applied identically to images, pseudo-labels and confidence, and
        recorded (``SemiBatch.transform``). ``semi_train_cfg.strong_views``
        views are drawn independently and stacked view after view.

        Args:
            sup_inputs (Tensor): (Nl, 3, H, W) labelled images (after
                :meth:`labelled_view`).
            sup_samples (list[SegDataSample]): their samples.
            weak (WeakPass): the weak view: images (Nu, 3, H, W),
                pseudo-labels and confidence (Nu, H, W).

        Returns:
            SemiBatch: the student's batch, with ``weak`` and
            ``teacher_outputs`` set.
        """
        gt = self._gt_labels(sup_samples)
        mix_labels = self.mix_labels(weak)
        views = [
            self._augment(self.strong_aug, weak.inputs, weak.labels,
                          weak.confidence, mix_labels)
            for _ in range(int(self.semi_train_cfg.strong_views))
        ]
        strong, s_labels, s_conf, records = (
            list(part) for part in zip(*views))
        return SemiBatch(
            num_labelled=sup_inputs.shape[0],
            inputs=torch.cat([sup_inputs] + strong),
            labels=torch.cat([gt] + s_labels),
            confidence=torch.cat(
                [torch.ones_like(gt, dtype=s_conf[0].dtype)] + s_conf),
            data_samples=sup_samples,
            teacher_outputs=weak.outputs,
            ignore_index=self.semi_train_cfg.ignore_index,
            num_views=len(views),
            weak=weak,
            transform=TransformRecord.stack(records))

    def student_forward(self, batch: SemiBatch) -> Tuple[List[Tensor], Any]:
        """Student features and raw head outputs of the whole batch.

        ``'separate'`` runs the labelled and the strong unlabelled images
        through the student one after the other and concatenates the
        results along the batch axis; ``'joint'`` runs one pass. When the
        weak pass already ran the student on the labelled images
        (``teacher='self'``), only the strong views run (one pass).

        Returns:
            tuple: the labelled images' backbone/neck features (list of
            (Nl, C, h, w), for the auxiliary heads) and the decode head's
            raw output for all N = Nl + Nu images.
        """
        student = self.student
        num = batch.num_labelled
        weak = batch.weak
        if weak is not None and weak.labelled_outputs is not None:
            feats_u = student.extract_feat(batch.inputs[num:])
            out_u = student.decode_head.forward(feats_u)
            return weak.labelled_feats, batch_cat(weak.labelled_outputs,
                                                  out_u)
        if self.semi_train_cfg.student_forward == 'joint':
            feats = student.extract_feat(batch.inputs)
            return [f[:num] for f in feats], student.decode_head.forward(feats)
        feats_l = student.extract_feat(batch.inputs[:num])
        out_l = student.decode_head.forward(feats_l)
        feats_u = student.extract_feat(batch.inputs[num:])
        out_u = student.decode_head.forward(feats_u)
        return feats_l, batch_cat(out_l, out_u)

    def loss_by_gt(self, feats: List[Tensor], outputs: Any,
                   batch: SemiBatch) -> dict:
        """Supervised losses of the labelled part, keys prefixed ``sup_``,
        scaled by ``semi_train_cfg.sup_weight``.

        Args:
            feats (list[Tensor]): the labelled images' features (Nl, ...).
            outputs: the head's raw output for all images.
            batch (SemiBatch): the batch.
        """
        num = slice(0, batch.num_labelled)
        head = self.student.decode_head
        losses = add_prefix(
            head.loss_by_feat(batch_slice(outputs, num), batch.data_samples),
            'decode')
        if self.student.with_auxiliary_head:
            losses.update(
                self.student._auxiliary_head_forward_train(
                    feats, batch.data_samples))
        return rename_loss_dict(
            'sup_', reweight_loss_dict(losses, self.semi_train_cfg.sup_weight))

    def loss_by_pseudo(self, outputs: Any, batch: SemiBatch) -> dict:
        """Pseudo-label CE and method losses, keys prefixed ``unsup_``."""
        losses = {}
        weight = self.semi_train_cfg.unsup_weight * self.rampup()
        if self.pseudo_loss is not None:
            logits = resize(
                head_logits(outputs)[batch.num_labelled:],
                size=batch.inputs.shape[2:],
                mode='bilinear',
                align_corners=self.align_corners)
            losses.update(
                self.pseudo_loss(logits, batch.labels[batch.num_labelled:],
                                 batch.confidence[batch.num_labelled:]))
            losses = reweight_loss_dict(losses, weight)
        context = self.method_context(outputs, batch)
        for term in self.method_losses:
            losses.update(term(context))
        return rename_loss_dict('unsup_', losses)

    def method_context(self, outputs: Any, batch: SemiBatch) -> MethodContext:
        """What the method terms are given (:class:`MethodContext`).

        Args:
            outputs: the student head's raw outputs on ``batch.inputs``.
            batch (SemiBatch): the batch.

        Returns:
            MethodContext: outputs, batch, student, teacher, ramp-up,
            iteration, ``align_corners`` and ``sup_weight``.
        """
        return MethodContext(
            outputs=outputs,
            batch=batch,
            student=self.student,
            teacher=self.teacher,
            rampup=self.rampup(),
            iteration=MessageHub.get_current_instance().get_info('iter', 0),
            align_corners=self.align_corners,
            sup_weight=self.semi_train_cfg.sup_weight)

    def rampup(self) -> float:
        """Sigmoid ramp-up exp(-5 (1 - t)^2) of the unsupervised weight."""
        iters = self.semi_train_cfg.rampup_iters
        if iters <= 0:
            return 1.0
        t = min(MessageHub.get_current_instance().get_info('iter', 0) / iters,
                1.0)
        return math.exp(-5.0 * (1.0 - t)**2)

    # ------------------------------------------------------------------
    def _gt_labels(self, data_samples: SampleList) -> Tensor:
        return torch.stack([s.gt_sem_seg.data[0] for s in data_samples]).long()

    def _augment(
        self,
        aug: nn.Module,
        inputs: Tensor,
        labels: Tensor,
        conf: Optional[Tensor] = None,
        mix_labels: Optional[Tensor] = None
    ) -> Tuple[Tensor, Tensor, Optional[Tensor], TransformRecord]:
        """Run an augmentation on de-normalised [0, 255] images.

        Returns:
            tuple: normalised images (N, 3, H, W), labels (N, H, W) and
            confidence (N, H, W) or None, transformed alike, and the
            transform record.
        """
        pre = self.data_preprocessor
        normalise = pre._enable_normalize
        images = inputs * pre.std + pre.mean if normalise else inputs
        images, labels, conf, record = aug.augment(
            images, labels, conf, mix_labels=mix_labels)
        if normalise:
            images = (images - pre.mean) / pre.std
        return images, labels, conf, record

    @staticmethod
    def _set_gt_labels(data_samples: SampleList, labels: Tensor) -> None:
        """Write augmented labels (N, H, W) back into the samples."""
        for sample, label in zip(data_samples, labels):
            sample.gt_sem_seg = PixelData(data=label[None])

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args,
                              **kwargs) -> None:
        """Load a plain segmentor checkpoint into both student and teacher."""
        if not any(k.startswith(prefix + 'student.') for k in state_dict):
            plain = [k for k in state_dict if k.startswith(prefix)]
            names = [n for n in ('student', 'teacher') if n in self._modules]
            for key in plain:
                value = state_dict.pop(key)
                rest = key[len(prefix):]
                for name in names:
                    state_dict[f'{prefix}{name}.{rest}'] = value
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
