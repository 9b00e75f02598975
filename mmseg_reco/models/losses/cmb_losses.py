"""Pure losses of the class-wise memory bank method (Alonso et al., ICCV 2021).

`Semi-Supervised Semantic Segmentation with Pixel-Level Contrastive Learning
from a Class-wise Memory Bank <https://arxiv.org/abs/2104.13415>`_, Eq. 1::

    L = l_sup L_sup + l_pseudo L_pseudo + l_ent L_ent + l_contr L_contr

Tensor programs without state: :func:`cmb_contrastive_loss` (L_contr, Eq.
8-11), :func:`prediction_entropy` (L_ent, Eq. 7), :func:`weighted_pseudo_ce`
(L_pseudo, Eq. 3, 5, 6) and :func:`class_balance_weights` (section 4.2);
:class:`CMBContrastiveLoss` is the registered module of the first. The
method term that runs the teacher and owns the bank is
:class:`~mmseg_reco.models.semi_methods.CMBTerm`.
"""
from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS

__all__ = [
    'cmb_contrastive_loss', 'prediction_entropy', 'weighted_pseudo_ce',
    'class_balance_weights', 'CMBContrastiveLoss'
]

#: Guard of the L2 normalisation (``F.cosine_similarity``'s value).
_NORM_EPS = 1e-8
#: Guard of the L1 normalisation of the attention weights (Eq. 8).
_SUM_EPS = 1e-12


class _ClassWeightedUnitSum(torch.autograd.Function):
    """``out[c] = sum_{m: cls_m = c} coef_m pred_m / max(|pred_m|, eps)``.

    The class sums of the L2-normalised, weighted predictions of Eq. 8-11,
    without materialising the normalised (M, D) copy and its autograd graph
    (``F.normalize`` records five (M, D) element-wise ops forward and about
    ten backward). With ``n = max(|p|, eps)`` and the upstream gradient
    ``g`` (C, D), the gradients are::

        d/dp    = coef g_c / n - coef (g_c . p) p / n^3   (the second term
                  only where |p| > eps, as F.normalize's clamp)
        d/dcoef = (g_c . p) / n

    Forward and backward are a few passes over (M, D): the norm, one scaled
    ``index_add``, and in backward a gather of ``g``, a row dot product and
    two in-place updates of the gathered rows (one (M, D) allocation).

    Args:
        pred (Tensor): (M, D) float predictions.
        cls (Tensor): (M,) long class in ``[0, C)``.
        coef (Tensor): (M,) float weight (0 leaves a row out).
        num_classes (int): C.

    Returns:
        Tensor: (C, D) class sums.
    """

    @staticmethod
    def forward(ctx, pred: Tensor, cls: Tensor, coef: Tensor,
                num_classes: int) -> Tensor:
        norm = torch.linalg.vector_norm(pred, dim=1)
        clamped = norm.clamp(min=_NORM_EPS)
        scale = coef / clamped  # (M,)
        out = pred.new_zeros(num_classes, pred.shape[1]).index_add_(
            0, cls, pred * scale[:, None])
        ctx.save_for_backward(pred, cls, coef, clamped, norm > _NORM_EPS)
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        pred, cls, coef, norm, unclamped = ctx.saved_tensors
        grad_rows = grad_out.index_select(0, cls)  # (M, D), new memory
        # (M,) g_c . p as a batched (1, D) @ (D, 1): no (M, D) temporary
        dot = torch.bmm(grad_rows[:, None], pred[:, :, None]).view(-1)
        inv = norm.reciprocal()
        grad_pred = grad_coef = None
        if ctx.needs_input_grad[2]:
            grad_coef = dot * inv
        if ctx.needs_input_grad[0]:
            radial = coef * dot * inv.pow(3) * unclamped.to(pred.dtype)
            grad_pred = grad_rows.mul_((coef * inv)[:, None]).addcmul_(
                pred, radial[:, None], value=-1.0)
        return grad_pred, None, grad_coef, None


def cmb_contrastive_loss(pred: Tensor, labels: Tensor, pred_scores: Tensor,
                         bank: Tensor, bank_valid: Tensor,
                         bank_scores: Tensor) -> Dict[str, Tensor]:
    """Attention-weighted positive-only contrast to a memory bank (Eq. 8-11).

    For class c with predictions P_c (the rows labelled c) and bank entries
    Z'_c (the valid slots of class c), Eq. 8 L1-normalises the attention
    scores S over each set, ``w = |set| * S / sum(S)``, Eq. 9-10 weight the
    cosine distance, ``D(p, z) = w_p w_z (1 - cos(p, z))``, and Eq. 11
    averages::

        L = 1/C sum_c 1/|P_c| 1/|Z'_c| sum_{p in P_c} sum_{z in Z'_c} D(p, z)

    Because the weights of each set sum to its size, the double sum factorises
    exactly: with ``s_p = S_p / sum S_p`` and ``s_z = S_z / sum S_z``,
    ``term_c = 1 - <sum_p s_p p/|p|, sum_z s_z z/|z|>``. The loss is computed
    in this form, in float32, without the |P_c| x |Z'_c| similarity matrix and
    without a loop over classes: O(M D + C psi D). The class sums of the
    normalised predictions are one autograd function
    (:class:`_ClassWeightedUnitSum`) with a hand-written backward, so the
    normalised (M, D) copy is never stored.

    A class without predictions or without bank entries adds 0 (the division
    by C still counts it, as Eq. 11 and the authors' code do). The loss stays
    connected to ``pred``, ``pred_scores`` and ``bank_scores`` even when it is
    0, so every parameter receives a (zero) gradient. The bank itself is a
    target: pass it without gradient.

    Differences from the authors' code (``contrastive_class_to_class_learned
    _memory``): there, a ``permute`` turns the bank weights into a (1, N) row
    before the L1 normalisation over dim 0, which makes every bank weight
    exactly 1; here Eq. 8 is applied to both sets. The authors also skip a
    class with a single prediction; here it counts.

    Args:
        pred (Tensor): (M, D) student predictions P (any scale; they are
            L2-normalised here).
        labels (Tensor): (M,) long class of each row; rows outside
            ``[0, C)`` are left out.
        pred_scores (Tensor): (M,) attention scores S_{c,theta}(p) in (0, 1).
        bank (Tensor): (C, psi, D) bank entries z' (L2-normalised here).
        bank_valid (Tensor): (C, psi) bool, which slots hold an entry.
        bank_scores (Tensor): (C, psi) attention scores S_{c,theta}(z').

    Returns:
        dict[str, Tensor]: ``loss`` (scalar, Eq. 11) and ``num_classes``
        (scalar long, the classes with both predictions and entries).
    """
    num_classes, _, dim = bank.shape
    assert pred.dim() == 2 and pred.shape[1] == dim, \
        f'pred must be (M, {dim}), got {tuple(pred.shape)}'
    assert labels.shape == pred_scores.shape == pred.shape[:1]
    assert bank_valid.shape == bank_scores.shape == bank.shape[:2]
    valid = (labels >= 0) & (labels < num_classes)
    cls = labels.clamp(0, num_classes - 1)
    coef = pred_scores.float() * valid.float()  # (M,)
    pred_mean = _ClassWeightedUnitSum.apply(pred.float(), cls, coef,
                                            num_classes)  # (C, D)
    weight_sum = coef.new_zeros(num_classes).index_add(0, cls, coef)
    pred_mean = pred_mean / weight_sum.clamp(min=_SUM_EPS)[:, None]

    bank_weights = bank_scores.float() * bank_valid.float()  # (C, psi)
    bank_hat = F.normalize(bank.float(), dim=2, eps=_NORM_EPS)
    bank_mean = torch.einsum('cn,cnd->cd', bank_weights, bank_hat)
    bank_mean = bank_mean / bank_weights.sum(1).clamp(min=_SUM_EPS)[:, None]

    members = torch.zeros(
        num_classes, dtype=torch.long, device=labels.device).index_add(
            0, cls, valid.long())
    present = (members > 0) & bank_valid.any(1)
    per_class = 1.0 - (pred_mean * bank_mean).sum(1)
    loss = (per_class * present.float()).sum() / num_classes
    return dict(loss=loss, num_classes=present.sum())


def prediction_entropy(logits: Tensor) -> Tensor:
    """Per-pixel entropy of the softmax prediction (the summand of Eq. 7).

    Args:
        logits (Tensor): (N, K, H, W) logits.

    Returns:
        Tensor: (N, H, W) float32 entropy ``-sum_k p_k log p_k`` (natural
        logarithm).
    """
    log_prob = F.log_softmax(logits.float(), dim=1)
    return -(log_prob.exp() * log_prob).sum(dim=1)


def weighted_pseudo_ce(logits: Tensor,
                       labels: Tensor,
                       confidence: Tensor,
                       sharpen: float = 6.0,
                       class_weight: Optional[Tensor] = None,
                       ignore_index: int = 255) -> Tensor:
    """Weighted cross-entropy H of Eq. 3 on pseudo-labels (Eq. 6).

    ``H = -1/N sum_n alpha_{y_n} beta_n log p_n(y_n)`` with N every pixel
    (ignored ones add 0), ``alpha`` the per-class weights and ``beta_n =
    confidence_n ** sharpen`` (section 4.2: the teacher's confidence sharpened
    with s = 6). Averaging over all strong views of a batch is the 1/A average
    of Eq. 6.

    Args:
        logits (Tensor): (N, K, H, W) student logits on the strong views.
        labels (Tensor): (N, H, W) long pseudo-labels.
        confidence (Tensor): (N, H, W) teacher confidence in [0, 1].
        sharpen (float): exponent s. Default: 6.
        class_weight (Tensor, optional): (K,) alpha. Default: None (all 1).
        ignore_index (int): label to ignore. Default: 255.

    Returns:
        Tensor: scalar loss.
    """
    pixel = F.cross_entropy(
        logits.float(),
        labels,
        weight=None if class_weight is None else class_weight.float(),
        reduction='none',
        ignore_index=ignore_index)
    beta = confidence.float().detach().pow(sharpen)
    return (pixel * beta).mean()


def class_balance_weights(class_counts: Union[Tensor, Sequence[float],
                                              np.ndarray]) -> Tensor:
    """Per-class weights ``alpha_c = sqrt(f_m / f_c)`` (section 4.2).

    ``f_c`` is the frequency of class c and ``f_m`` the median of the
    frequencies of the classes that occur. A class that never occurs gets
    weight 1.

    Args:
        class_counts (Tensor | sequence): (C,) pixel counts (or
            frequencies) of each class in the labelled data.

    Returns:
        Tensor: (C,) float32 weights, e.g. to save with ``np.save`` and pass
        as ``class_weight='path.npy'`` to ``CrossEntropyLoss`` and
        :class:`CMBTerm`.
    """
    counts = torch.as_tensor(class_counts, dtype=torch.float64)
    seen = counts > 0
    assert seen.any(), 'no class occurs'
    freq = counts / counts.sum()
    median = freq[seen].median()
    alpha = torch.where(seen, (median / freq.clamp(min=1e-300)).sqrt(),
                        torch.ones_like(freq))
    return alpha.float()


@MODELS.register_module()
class CMBContrastiveLoss(nn.Module):
    """Module of :func:`cmb_contrastive_loss` (Alonso et al., Eq. 8-11).

    Args:
        loss_weight (float): lambda_contr. Default: 1.0.
        loss_name (str): key of the loss. Default: 'loss_contr'.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_contr') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, pred: Tensor, labels: Tensor, pred_scores: Tensor,
                bank: Tensor, bank_valid: Tensor,
                bank_scores: Tensor) -> Tensor:
        """Weighted Eq. 11; shapes as in :func:`cmb_contrastive_loss`."""
        return self.loss_weight * cmb_contrastive_loss(
            pred, labels, pred_scores, bank, bank_valid, bank_scores)['loss']

    @property
    def loss_name(self) -> str:
        return self._loss_name
