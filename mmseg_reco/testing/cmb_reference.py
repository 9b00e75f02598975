"""Per-class loop references of the class-wise memory bank method.

`Semi-Supervised Semantic Segmentation with Pixel-Level Contrastive Learning
from a Class-wise Memory Bank <https://arxiv.org/abs/2104.13415>`_ (Alonso et
al., ICCV 2021). Written directly from the paper with Python loops over
classes (and images), boolean-mask indexing and the full prediction x entry
distance matrix of every class. They are slow on purpose and serve as the
ground truth that the vectorised code is checked and timed against:

- :func:`cmb_contrastive_loss_reference` for
  :func:`mmseg_reco.models.losses.cmb_losses.cmb_contrastive_loss` (Eq. 8-11);
- :func:`topk_per_image_class_reference` for
  :func:`mmseg_reco.models.utils.memory_bank.topk_per_image_class` (the
  ranking of section 3.4);
- :func:`bank_push_reference` for
  :meth:`mmseg_reco.models.utils.memory_bank.ClassMemoryBank.push` (the
  per-class FIFO queue of section 3.4, one row at a time).
"""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    'cmb_contrastive_loss_reference', 'topk_per_image_class_reference',
    'bank_push_reference'
]


def cmb_contrastive_loss_reference(pred: Tensor, labels: Tensor,
                                   pred_scores: Tensor, bank: Tensor,
                                   bank_valid: Tensor,
                                   bank_scores: Tensor) -> Tensor:
    """Eq. 8-11 with a loop over classes and the full distance matrix.

    Args:
        pred (Tensor): (M, D) predictions P.
        labels (Tensor): (M,) long class of each row; rows outside
            ``[0, C)`` are left out.
        pred_scores (Tensor): (M,) attention scores of the predictions.
        bank (Tensor): (C, psi, D) bank entries.
        bank_valid (Tensor): (C, psi) bool, which slots hold an entry.
        bank_scores (Tensor): (C, psi) attention scores of the entries.

    Returns:
        Tensor: scalar loss; a class without predictions or entries adds 0
        and the sum is divided by C.
    """
    num_classes = bank.shape[0]
    total = pred.new_zeros(())
    for c in range(num_classes):
        rows = labels == c
        preds, s_p = pred[rows], pred_scores[rows]
        entries, s_z = bank[c][bank_valid[c]], bank_scores[c][bank_valid[c]]
        if len(preds) == 0 or len(entries) == 0:
            continue
        w_p = len(preds) / s_p.sum() * s_p  # Eq. 8
        w_z = len(entries) / s_z.sum() * s_z  # Eq. 8 for the bank entries
        cos = F.normalize(preds, dim=1) @ F.normalize(entries, dim=1).t()
        dist = w_p[:, None] * w_z[None, :] * (1 - cos)  # Eq. 9-10
        total = total + dist.sum() / (len(preds) * len(entries))  # Eq. 11
    return total / num_classes


def topk_per_image_class_reference(scores: Tensor, labels: Tensor,
                                   valid: Tensor, k: int,
                                   num_classes: int) -> Tuple[Tensor, Tensor]:
    """Per image and class, the ``k`` best valid entries, by loops.

    Ties keep the lower index (stable sort), as in the vectorised version.

    Args:
        scores (Tensor): (N, M) ranking scores.
        labels (Tensor): (N, M) long class of each entry.
        valid (Tensor): (N, M) bool, entries allowed to be selected.
        k (int): entries kept per image and class.
        num_classes (int): number of classes C.

    Returns:
        tuple[Tensor, Tensor]: ``index`` (N, C, k) long (0 where unused) and
        ``keep`` (N, C, k) bool.
    """
    num = scores.shape[0]
    index = torch.zeros(num, num_classes, k, dtype=torch.long,
                        device=scores.device)
    keep = torch.zeros(num, num_classes, k, dtype=torch.bool,
                       device=scores.device)
    for n in range(num):
        for c in range(num_classes):
            members = torch.nonzero(valid[n] & (labels[n] == c)).squeeze(1)
            if len(members) == 0:
                continue
            order = torch.sort(
                scores[n, members].float(), descending=True,
                stable=True).indices[:k]
            index[n, c, :len(order)] = members[order]
            keep[n, c, :len(order)] = True
    return index, keep


@torch.no_grad()
def bank_push_reference(bank: Tensor, ptr: Tensor, count: Tensor,
                        feats: Tensor, labels: Tensor) -> None:
    """Append rows to per-class FIFO ring buffers one row at a time.

    Updates ``bank``, ``ptr`` and ``count`` in place, with the layout of
    :class:`mmseg_reco.models.utils.memory_bank.ClassMemoryBank`.

    Args:
        bank (Tensor): (C, psi, D) entries.
        ptr (Tensor): (C,) long next slot of every class.
        count (Tensor): (C,) long number of valid entries.
        feats (Tensor): (M, D) rows to append in order.
        labels (Tensor): (M,) long class of each row; rows outside
            ``[0, C)`` are skipped.
    """
    num_classes, size, _ = bank.shape
    for c in range(num_classes):
        rows = feats[labels == c]
        slot, filled = int(ptr[c]), int(count[c])
        for row in rows:
            bank[c, slot] = row
            slot = (slot + 1) % size
            filled = min(filled + 1, size)
        ptr[c], count[c] = slot, filled


def class_wise_attention_modules(attention) -> nn.ModuleList:
    """The C attention modules of the memory-bank paper, one per class.

    ``Linear(D, H) -> BatchNorm1d(H) -> LeakyReLU -> Linear(H, 1) ->
    Sigmoid`` for class c, built from the stacked weights and running
    statistics of a :class:`ClassWiseAttention` (the authors' per-class
    heads, for agreement tests and benchmarks).

    Args:
        attention (ClassWiseAttention): the batched module.

    Returns:
        nn.ModuleList: C modules on the attention's device.
    """
    modules = nn.ModuleList()
    for c in range(attention.num_classes):
        first = nn.Linear(attention.in_dim, attention.hidden_dim)
        bn = nn.BatchNorm1d(attention.hidden_dim)
        last = nn.Linear(attention.hidden_dim, 1)
        with torch.no_grad():
            first.weight.copy_(attention.weight1[c])
            first.bias.copy_(attention.bias1[c])
            bn.weight.copy_(attention.bn_weight[c])
            bn.bias.copy_(attention.bn_bias[c])
            bn.running_mean.copy_(attention.running_mean[c])
            bn.running_var.copy_(attention.running_var[c])
            last.weight.copy_(attention.weight2[c][None])
            last.bias.copy_(attention.bias2[c:c + 1])
        modules.append(
            nn.Sequential(first, bn, nn.LeakyReLU(attention.negative_slope),
                          last, nn.Sigmoid()))
    return modules.to(attention.weight1.device)
