"""Losses of the class-wise memory bank method (Alonso et al., ICCV 2021).

`Semi-Supervised Semantic Segmentation with Pixel-Level Contrastive Learning
from a Class-wise Memory Bank <https://arxiv.org/abs/2104.13415>`_, Eq. 1::

    L = l_sup L_sup + l_pseudo L_pseudo + l_ent L_ent + l_contr L_contr

- ``L_sup`` (Eq. 3-4) is the student decode head's own loss (the segmentor's
  ``sup_*`` keys); set the per-class weights alpha in its ``loss_decode``.
- ``L_pseudo`` (Eq. 3, 5, 6), ``L_ent`` (Eq. 7) and ``L_contr`` (Eq. 8-11)
  are computed by :class:`CMBTerm`, a method term of :class:`SemiSegmentor`,
  from the pure losses of ``models/losses/cmb_losses.py``; the term runs the
  teacher for the bank candidates and owns the bank.

Call flow of :class:`CMBTerm` (one training step)::

    CMBTerm(context)     a MethodContext: the student's CMBHead outputs, the
                         SemiBatch, the student and teacher, the iteration
      -> bank_candidates   teacher on the labelled target-domain images, no
                           grad: FQF, attention ranking, top-K per image and
                           class; kept for MemoryBankHook (pushed after the
                           step)
      -> contrastive       student predictions P of every labelled (ground
                           truth) and unlabelled (pseudo-label) pixel at the
                           feature stride vs. the bank entries (Eq. 8-11)
      -> pseudo, entropy   unlabelled strong views at the input resolution
"""
import re
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg.models.losses.utils import get_class_weight
from mmseg.models.utils import resize
from mmseg.registry import MODELS

from ..losses.cmb_losses import (class_balance_weights, cmb_contrastive_loss,
                                 prediction_entropy, weighted_pseudo_ce)
from ..augmentation.semi_batch import SemiBatch
from ..decode_heads.cmb_head import CMBHead
from ..utils.memory_bank import ClassMemoryBank, topk_per_image_class
from ...utils.config_groups import resolve_groups
from .method_context import MethodContext

__all__ = ['CMBTerm']


def _downsample_labels(labels: Tensor, size: Tuple[int, int]) -> Tensor:
    """Nearest-neighbour downsampling of (N, H, W) labels to ``size``."""
    if tuple(labels.shape[-2:]) == tuple(size):
        return labels
    return F.interpolate(
        labels[:, None].float(), size=size, mode='nearest')[:, 0].long()


def _downsample_float(values: Tensor, size: Tuple[int, int]) -> Tensor:
    """Nearest-neighbour downsampling of (N, H, W) float maps to ``size``."""
    if tuple(values.shape[-2:]) == tuple(size):
        return values
    return F.interpolate(
        values[:, None].float(), size=size, mode='nearest')[:, 0]


def _rows(features: Tensor) -> Tensor:
    """(N, D, h, w) -> (N*h*w, D)."""
    return features.permute(0, 2, 3, 1).reshape(-1, features.shape[1])


@MODELS.register_module()
class CMBTerm(nn.Module):
    """L_pseudo, L_ent and L_contr of Eq. 1, and the memory bank.

    A method term of :class:`SemiSegmentor` (``method_losses``); the student
    and teacher decode heads must be :class:`CMBHead`. Configure the segmentor
    with ``pseudo_loss=None`` (the pseudo-label CE is computed here with the
    paper's weights) and add :class:`MemoryBankHook`, which pushes the bank
    candidates of each step after the step.

    Per step:

    - **Bank candidates** (section 3.4, "Memory Bank"): the teacher (no grad)
      runs on the labelled images of the target domain; a pixel at the
      feature stride is kept when the teacher predicts its ground-truth class
      with confidence > ``bank['conf_threshold']`` (the Feature Quality
      Filter); the kept projections Z' are scored by the teacher's
      projection attention S_{c,xi} and the ``K`` highest per image and
      class are kept, with ``K = bank['topk']`` or
      ``max(1, bank['size'] // num_labelled_images)``. They are stored in a
      fixed (N_l * C * K) layout (unused slots labelled -1), the same shape
      on every rank, and pushed by the hook.
    - **L_contr** (Eq. 8-11, :func:`cmb_contrastive_loss`): every labelled
      pixel (ground truth) and unlabelled pixel (mixed pseudo-label of the
      strong view) at the feature stride, labels downsampled by nearest
      neighbour, against all bank entries of its class; predictions scored by
      ``pred_attention``, entries by ``proj_attention``.
    - **L_pseudo** (Eq. 3, 6, :func:`weighted_pseudo_ce`) and **L_ent** (Eq. 7,
      mean of :func:`prediction_entropy`) on the unlabelled strong views at
      the input resolution.

    ``loss_weights['pseudo']`` and ``loss_weights['contr']`` are 0 for the
    first ``warmup_iters`` iterations (section 4.2: 2k).

    Semi-supervised domain adaptation (section 4.3.2): labelled samples of
    the source domain (``source_domain``) take part in L_sup and L_contr like
    the target ones, but never in the bank.

    Differences between the paper (followed by default) and the authors'
    code (github.com/Shathe/SemiSeg-Contrastive), with the option that
    selects the authors' choice where one exists:

    - ranking: the authors sort the scores in ascending order and keep the
      *lowest*-scoring candidates, scored by the *prediction* attention
      modules of the teacher; the paper keeps the highest-scoring ones of
      S_{c,xi} on the projections Z' (``bank=dict(rank_with='pred')``
      selects the prediction modules);
    - the authors keep the top ``B_l * K`` per class over the whole labelled
      batch, not K per image (``bank=dict(topk_per='batch')``), and for
      Pascal VOC use ``K = max(1, int(C / 3 * round(psi / |X_l|)))`` (set
      ``bank['topk']``);
    - the bank starts filling 1,000 iterations before the contrastive loss
      (``MemoryBankHook(start_iter=warmup_iters - 1000)``; the paper fills
      from the start);
    - labelled and unlabelled contrastive terms are two losses, each weighted
      0.1 (``contrastive=dict(separate=True)``);
    - a sigmoid ramp-up ``exp(-5 (1 - t)^2)`` of the pseudo-label weight over
      the warm-up (``pseudo=dict(warmup='sigmoid')``) instead of a step;
    - entropy in bits over the pixels with a pseudo-label, divided by
      ``log2(K)`` (``entropy=dict(normalise=True, valid_only=True)``);
    - class weights only for Cityscapes, from running frequencies of labels
      and pseudo-labels (here: ``pseudo['class_weight']`` given in the
      config; use :func:`class_balance_weights` on the labelled split);
    - the prediction attention sees detached predictions, as here by default
      (``contrastive['detach_attention_input']``; the paper does not say);
      the bank attention sees L2-normalised entries, here the raw
      projections of Eq. 8;
    - an EMA decay that grows towards 1 with a warm-up (versions of the code
      use ``min(1 - 1/(t+1), 0.99)`` or a cosine schedule from 0.995 to 1)
      instead of the paper's fixed 0.997 (``MeanTeacherHook``), and B/2
      unlabelled images x A = 2 strong views (the segmentor and sampler);
      these are configured outside this loss.

    Args:
        num_classes (int): number of classes C.
        bank (dict, optional): the memory bank and its update; keys and
            defaults:

            - ``size`` (int): entries per class psi. Default: 256.
            - ``feat_dim`` (int): projection size D. Default: 256.
            - ``conf_threshold`` (float, [0, 1)): FQF confidence phi (the
              teacher's softmax probability must exceed it). Default: 0.95.
            - ``topk`` (int, optional): K; overrides
              ``num_labelled_images``. Default: None.
            - ``topk_per`` (str): ``'image'`` (paper) or ``'batch'``.
              Default: 'image'.
            - ``rank_with`` (str): ``'proj'`` (paper) or ``'pred'``
              attention modules for the ranking. Default: 'proj'.
        num_labelled_images (int, optional): |X_l| of the split, for K;
            :class:`MemoryBankHook` sets it from the labelled dataset when
            None. Default: None.
        loss_weights (dict, optional): the lambdas of Eq. 1; keys and
            defaults:

            - ``pseudo`` (float): lambda_pseudo. Default: 1.0.
            - ``ent`` (float): lambda_ent. Default: 0.01.
            - ``contr`` (float): lambda_contr. Default: 0.1.
        warmup_iters (int): iterations with lambda_pseudo = lambda_contr = 0.
            Default: 2000.
        pseudo (dict, optional): L_pseudo; keys and defaults:

            - ``sharpen`` (float): s of the pseudo-label weight.
              Default: 6.0.
            - ``class_weight`` (list[float] | str, optional): alpha of the
              pseudo CE (a list or an ``.npy``/``.json`` file).
              Default: None.
            - ``warmup`` (str): ``'step'`` (paper) or ``'sigmoid'``.
              Default: 'step'.
        entropy (dict, optional): L_ent; keys and defaults:

            - ``normalise`` (bool): divide the entropy by log(K).
              Default: False.
            - ``valid_only`` (bool): entropy only where a pseudo-label
              exists. Default: False.
        contrastive (dict, optional): L_contr; keys and defaults:

            - ``unlabelled_threshold`` (float, optional): minimum teacher
              confidence of an unlabelled pixel. Default: None (every pixel
              with a pseudo-label, as the paper).
            - ``separate`` (bool): labelled and unlabelled terms as two
              losses, see above. Default: False.
            - ``detach_attention_input`` (bool): feed detached predictions
              to the prediction attention. Default: True.
        source_domain (dict, optional): ``dict(key=..., pattern=...)``; a
            labelled sample whose metainfo ``key`` matches the regular
            expression ``pattern`` (``re.search``) is source-domain data.
            Default: None (all labelled data is target domain).
        ignore_index (int): ignore label. Default: 255.
        loss_name (str): prefix of the keys. Default: ``'cmb'``.
        **legacy: the deprecated flat arguments only (see below).

    Each dict argument but ``source_domain`` is merged over its defaults
    (:attr:`GROUP_DEFAULTS`), so a config may set one key
    (``loss_weights=dict(contr=1.0)``); an unknown key raises a ValueError
    naming the argument and its keys.

    The flat arguments before the grouping (``bank_size``, ``feat_dim``,
    ``loss_contr_weight``, ...; ``LEGACY_GROUP_KEYS['CMBTerm']`` in
    :mod:`mmseg_reco.utils.config_groups`) are deprecated: ``**legacy``
    takes them for one release, moved into their groups with a
    DeprecationWarning that names the new key; an old argument together
    with its key in the group raises a TypeError, and any other name raises
    the usual "unexpected keyword argument" TypeError.
    """

    #: the defaults of the dict arguments (see ``Args``)
    GROUP_DEFAULTS = dict(
        bank=dict(
            size=256,
            feat_dim=256,
            conf_threshold=0.95,
            topk=None,
            topk_per='image',
            rank_with='proj'),
        loss_weights=dict(pseudo=1.0, ent=0.01, contr=0.1),
        pseudo=dict(sharpen=6.0, class_weight=None, warmup='step'),
        entropy=dict(normalise=False, valid_only=False),
        contrastive=dict(
            unlabelled_threshold=None,
            separate=False,
            detach_attention_input=True))

    def __init__(self,
                 num_classes: int,
                 bank: Optional[dict] = None,
                 num_labelled_images: Optional[int] = None,
                 loss_weights: Optional[dict] = None,
                 warmup_iters: int = 2000,
                 pseudo: Optional[dict] = None,
                 entropy: Optional[dict] = None,
                 contrastive: Optional[dict] = None,
                 source_domain: Optional[dict] = None,
                 ignore_index: int = 255,
                 loss_name: str = 'cmb',
                 **legacy):
        super().__init__()
        bank, weights, pseudo, entropy, contrastive = resolve_groups(
            'CMBTerm',
            dict(
                bank=bank,
                loss_weights=loss_weights,
                pseudo=pseudo,
                entropy=entropy,
                contrastive=contrastive), self.GROUP_DEFAULTS, legacy)
        assert bank['topk_per'] in ('image', 'batch'), bank['topk_per']
        assert bank['rank_with'] in ('proj', 'pred'), bank['rank_with']
        assert pseudo['warmup'] in ('step', 'sigmoid'), pseudo['warmup']
        assert 0 <= bank['conf_threshold'] < 1
        assert bank['topk'] is None or bank['topk'] >= 1
        if source_domain is not None:
            assert set(source_domain) == {'key', 'pattern'}, \
                "source_domain must be dict(key=..., pattern=...)"
        self.num_classes = num_classes
        self.feat_dim = bank['feat_dim']
        self.bank_size = bank['size']
        self.conf_threshold = bank['conf_threshold']
        self.num_labelled_images = num_labelled_images
        self.topk = bank['topk']
        self.topk_per = bank['topk_per']
        self.rank_with = bank['rank_with']
        self.loss_pseudo_weight = weights['pseudo']
        self.loss_ent_weight = weights['ent']
        self.loss_contr_weight = weights['contr']
        self.warmup_iters = warmup_iters
        self.pseudo_warmup = pseudo['warmup']
        self.sharpen = pseudo['sharpen']
        self.unlabelled_threshold = contrastive['unlabelled_threshold']
        self.separate_contrastive = contrastive['separate']
        self.detach_attention_input = contrastive['detach_attention_input']
        self.ent_normalise = entropy['normalise']
        self.ent_valid_only = entropy['valid_only']
        self.source_domain = source_domain
        self._source_re = (
            re.compile(source_domain['pattern']) if source_domain else None)
        self.ignore_index = ignore_index
        self.loss_name = loss_name
        weight = get_class_weight(pseudo['class_weight'])
        if weight is not None:
            weight = torch.as_tensor(np.asarray(weight), dtype=torch.float32)
            assert weight.shape == (num_classes, ), \
                f'class_weight must have {num_classes} entries'
        self.register_buffer('class_weight', weight, persistent=False)
        self.bank = ClassMemoryBank(num_classes, self.feat_dim,
                                    self.bank_size)
        #: whether the step computes bank candidates (:meth:`set_collect`)
        self.collect = True
        self._candidates: Optional[Tuple[Tensor, Tensor]] = None
        self._warned_unpushed = False

    # ------------------------------------------------------------------
    @property
    def k(self) -> int:
        """Bank candidates per image and class (K)."""
        if self.topk is not None:
            return self.topk
        if self.num_labelled_images is None:
            raise ValueError(
                "CMBTerm needs bank['topk'] or num_labelled_images (|X_l|) "
                'to size the bank update; MemoryBankHook sets '
                'num_labelled_images from the labelled dataset, or set it in '
                'the config')
        return max(1, self.bank_size // self.num_labelled_images)

    def is_source(self, data_samples: Sequence) -> List[bool]:
        """Whether each labelled sample is source-domain data."""
        if self._source_re is None:
            return [False] * len(data_samples)
        key = self.source_domain['key']
        return [
            bool(self._source_re.search(str(s.metainfo.get(key, ''))))
            for s in data_samples
        ]

    def warmup_factor(self, kind: str, it: int) -> float:
        """Weight factor of the pseudo (``kind='pseudo'``) or contrastive
        loss at iteration ``it``."""
        if self.warmup_iters <= 0 or it >= self.warmup_iters:
            return 1.0
        if kind == 'pseudo' and self.pseudo_warmup == 'sigmoid':
            return float(np.exp(-5.0 * (1.0 - it / self.warmup_iters)**2))
        return 0.0

    # ------------------------------------------------------------------
    def forward(self, context: MethodContext) -> Dict[str, Tensor]:
        """The three losses of one step (and the bank candidates).

        Args:
            context (MethodContext): ``outputs``, the student's
                :class:`CMBHead` outputs on ``batch.inputs``:
                ``seg_logits`` (N, K, h, w) and ``pred`` (N, D, h', w');
                ``batch``, labels (N, H, W), confidence (N, H, W),
                ``num_labelled`` and the labelled ``data_samples``;
                ``student`` and ``teacher`` (their :class:`CMBHead` heads);
                ``iteration`` (the warm-up).

        Returns:
            dict[str, Tensor]: ``loss_{name}_pseudo``, ``loss_{name}_ent``,
            ``loss_{name}_contr`` (weighted) and the logged statistics
            ``{name}_contr`` (unweighted L_contr), ``{name}_classes``
            (classes in L_contr) and ``{name}_bank_fill`` (share of filled
            bank slots).
        """
        outputs, batch = context.outputs, context.batch
        head = context.student.decode_head
        if not isinstance(head, CMBHead) or 'pred' not in outputs:
            raise TypeError('CMBTerm needs CMBHead student/teacher decode '
                            f'heads, got {type(head).__name__}')
        if self._candidates is not None and not self._warned_unpushed:
            warnings.warn('CMBTerm: the bank candidates of the previous step '
                          'were never pushed; add MemoryBankHook to '
                          'custom_hooks')
            self._warned_unpushed = True
        if self.collect:
            self._candidates = self.bank_candidates(context.teacher, batch)
        name = self.loss_name
        contr = self.contrastive(head, outputs['pred'], batch)
        losses = {
            f'loss_{name}_contr':
            contr['loss'] * self.loss_contr_weight *
            self.warmup_factor('contr', context.iteration)
        }
        losses.update(
            self.unlabelled_losses(outputs['seg_logits'], batch,
                                   context.align_corners, context.iteration))
        losses[f'{name}_contr'] = contr['loss'].detach()
        losses[f'{name}_classes'] = contr['num_classes'].float()
        losses[f'{name}_bank_fill'] = (
            self.bank.count.float().mean() / self.bank_size)
        return losses

    def pop_candidates(self) -> Optional[Tuple[Tensor, Tensor]]:
        """The candidates of the last step, ``(feats (M, D), labels (M,))``
        with label -1 for unused slots, or None; forgets them."""
        candidates, self._candidates = self._candidates, None
        return candidates

    def set_collect(self, collect: bool) -> None:
        """Whether the next step computes bank candidates (the teacher pass
        on the labelled images is skipped otherwise); called by
        :class:`MemoryBankHook` before every iteration."""
        self.collect = bool(collect)

    def push_candidates(self) -> None:
        """Push the candidates of the last step into the bank (gathered from
        every rank under DDP)."""
        candidates = self.pop_candidates()
        if candidates is not None:
            self.bank.push(*candidates)

    # ------------------------------------------------------------------
    @torch.no_grad()
    def bank_candidates(self, teacher: nn.Module,
                        batch: SemiBatch) -> Tuple[Tensor, Tensor]:
        """Teacher projections of labelled target pixels for the bank.

        Args:
            teacher (nn.Module): the teacher segmentor (a :class:`CMBHead`).
            batch (SemiBatch): the batch.

        Returns:
            tuple[Tensor, Tensor]: ``feats`` (N_l * C * K, D) and ``labels``
            (N_l * C * K,) long, -1 where no candidate was selected (source
            images, classes absent or filtered out).
        """
        num_l, num_classes, k = batch.num_labelled, self.num_classes, self.k
        device = batch.inputs.device
        target = [
            i for i, src in enumerate(self.is_source(batch.data_samples))
            if not src
        ]
        if len(target) == num_l:  # no source-domain image: no indexing
            feats, labels = self._select(teacher, batch.inputs[:num_l],
                                         batch.labels[:num_l])
            return feats.reshape(-1, self.feat_dim), labels.reshape(-1)
        feats = batch.inputs.new_zeros(num_l, num_classes, k, self.feat_dim,
                                       dtype=torch.float32)
        labels = torch.full((num_l, num_classes, k), -1, dtype=torch.long,
                            device=device)
        if target:
            index = torch.tensor(target, device=device)
            sel, sel_labels = self._select(teacher, batch.inputs[index],
                                           batch.labels[index])
            feats[index] = sel
            labels[index] = sel_labels
        return feats.view(-1, self.feat_dim), labels.view(-1)

    def _select(self, teacher: nn.Module, inputs: Tensor,
                gt: Tensor) -> Tuple[Tensor, Tensor]:
        """FQF, ranking and top-K of section 3.4 on n labelled images.

        Returns:
            tuple[Tensor, Tensor]: (n, C, K, D) projections and (n, C, K)
            labels (-1 where unused).
        """
        head = teacher.decode_head
        out = head.forward_train(teacher.extract_feat(inputs),
                                 with_pred=self.rank_with == 'pred')
        proj = out['proj']
        num, dim, height, width = proj.shape
        size = (height, width)
        logits = out['seg_logits']
        if tuple(logits.shape[2:]) != size:
            logits = resize(
                logits, size=size, mode='bilinear',
                align_corners=head.align_corners)
        conf, pred_cls = torch.softmax(logits.float(), dim=1).max(dim=1)
        gt = _downsample_labels(gt, size)
        fqf = (pred_cls == gt) & (conf > self.conf_threshold) & (
            gt >= 0) & (gt < self.num_classes)
        rows = _rows(proj)
        labels = gt.reshape(-1)
        if self.rank_with == 'proj':
            scores = head.proj_attention(rows, labels, fqf.reshape(-1))
        else:
            scores = head.pred_attention(
                _rows(out['pred']), labels, fqf.reshape(-1))
        k = self.k
        per_image = self.topk_per == 'image'
        groups = num if per_image else 1
        index, keep = topk_per_image_class(
            scores.view(groups, -1), labels.view(groups, -1),
            fqf.reshape(groups, -1), k if per_image else k * num,
            self.num_classes)
        sel = rows.view(groups, -1, dim).gather(
            1, index.flatten(1)[..., None].expand(-1, -1, dim))
        classes = torch.arange(self.num_classes, device=rows.device)
        sel_labels = torch.where(keep, classes[None, :, None],
                                 torch.full_like(index, -1))
        # (groups, C, k', D) -> (n, C, K, D); a batch-wise selection is
        # spread over the n image slots of the fixed layout
        sel = sel.view(groups, self.num_classes, -1, dim)
        if not per_image:
            sel = sel.view(self.num_classes, num, k, dim).transpose(0, 1)
            sel_labels = sel_labels.view(self.num_classes, num,
                                         k).transpose(0, 1)
        return (sel.reshape(num, self.num_classes, k, dim).float(),
                sel_labels.reshape(num, self.num_classes, k))

    # ------------------------------------------------------------------
    def contrastive(self, head: nn.Module, pred: Tensor,
                    batch: SemiBatch) -> Dict[str, Tensor]:
        """L_contr of the student predictions against the bank (Eq. 8-11).

        Args:
            head (nn.Module): the student's :class:`CMBHead`.
            pred (Tensor): (N, D, h, w) predictions P.
            batch (SemiBatch): labels and confidence (N, H, W).

        Returns:
            dict[str, Tensor]: ``loss`` and ``num_classes``, see
            :func:`cmb_contrastive_loss`.
        """
        size = pred.shape[2:]
        labels = _downsample_labels(batch.labels, size)
        num_l = batch.num_labelled
        is_unlabelled = torch.zeros_like(labels, dtype=torch.bool)
        is_unlabelled[num_l:] = True
        if self.unlabelled_threshold is not None:
            conf = _downsample_float(batch.confidence, size)
            reject = is_unlabelled & (conf < self.unlabelled_threshold)
            labels = torch.where(reject, torch.full_like(labels, -1), labels)
        labels = labels.reshape(-1)
        valid = (labels >= 0) & (labels < self.num_classes)
        rows = _rows(pred)
        attention_in = rows.detach() if self.detach_attention_input else rows
        pred_scores = head.pred_attention(attention_in, labels, valid)
        bank, bank_valid = self.bank.entries()
        bank_classes = torch.arange(
            self.num_classes, device=bank.device).repeat_interleave(
                self.bank_size)
        bank_scores = head.proj_attention(
            bank.reshape(-1, self.feat_dim), bank_classes,
            bank_valid.reshape(-1)).view_as(bank_valid)
        labels = torch.where(valid, labels, torch.full_like(labels, -1))
        if not self.separate_contrastive:
            return cmb_contrastive_loss(rows, labels, pred_scores, bank,
                                        bank_valid, bank_scores)
        unl = is_unlabelled.reshape(-1)
        parts = [
            cmb_contrastive_loss(
                rows, torch.where(mask, labels, torch.full_like(labels, -1)),
                pred_scores, bank, bank_valid, bank_scores)
            for mask in (~unl, unl)
        ]
        return dict(
            loss=parts[0]['loss'] + parts[1]['loss'],
            num_classes=torch.maximum(parts[0]['num_classes'],
                                      parts[1]['num_classes']))

    def unlabelled_losses(self, logits: Tensor, batch: SemiBatch,
                          align_corners: bool,
                          iteration: int) -> Dict[str, Tensor]:
        """L_pseudo (Eq. 6) and L_ent (Eq. 7) on the strong views.

        Args:
            logits (Tensor): (N, K, h, w) student logits of the batch.
            batch (SemiBatch): the batch.
            align_corners (bool): of the bilinear resize.
            iteration (int): the current iteration (the warm-up).

        Returns:
            dict[str, Tensor]: ``loss_{name}_pseudo`` and ``loss_{name}_ent``
            (weighted).
        """
        num_l = batch.num_labelled
        logits = resize(
            logits[num_l:],
            size=batch.inputs.shape[2:],
            mode='bilinear',
            align_corners=align_corners)
        labels = batch.labels[num_l:]
        pseudo = weighted_pseudo_ce(logits, labels, batch.confidence[num_l:],
                                    self.sharpen, self.class_weight,
                                    self.ignore_index)
        entropy = prediction_entropy(logits)
        if self.ent_normalise:
            entropy = entropy / float(np.log(logits.shape[1]))
        if self.ent_valid_only:
            mask = (labels != self.ignore_index).float()
            ent = (entropy * mask).sum() / mask.sum().clamp(min=1)
        else:
            ent = entropy.mean()
        name = self.loss_name
        return {
            f'loss_{name}_pseudo':
            pseudo * self.loss_pseudo_weight *
            self.warmup_factor('pseudo', iteration),
            f'loss_{name}_ent':
            ent * self.loss_ent_weight,
        }
