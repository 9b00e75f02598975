"""Class-wise FIFO memory bank of pixel features, held on the device.

`Semi-Supervised Semantic Segmentation with Pixel-Level Contrastive Learning
from a Class-wise Memory Bank <https://arxiv.org/abs/2104.13415>`_ (Alonso et
al., ICCV 2021), section 3.4 "Memory Bank": per class a First-In-First-Out
queue of ``psi`` teacher projections of labelled pixels, updated after every
training step with the top-K per image and class of the features that pass
the Feature Quality Filter.

Two pieces live here:

- :func:`topk_per_image_class`: per image and class, the indices of the K
  highest-scoring valid entries (the ranking of section 3.4), vectorised over
  images and classes with two stable sorts.
- :class:`ClassMemoryBank`: one ring buffer per class, as registered buffers
  ``bank`` (C, psi, D), ``ptr`` (C,) and ``count`` (C,), so that mmengine
  checkpoints save and restore them exactly; :meth:`ClassMemoryBank.push`
  writes all classes at once with one scatter, and gathers the candidates of
  every rank first under DDP so that every rank holds the same bank.
"""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_gather, get_world_size
from torch import Tensor

__all__ = ['topk_per_image_class', 'ClassMemoryBank']


def topk_per_image_class(scores: Tensor, labels: Tensor, valid: Tensor,
                         k: int, num_classes: int) -> Tuple[Tensor, Tensor]:
    """Per image and class, the ``k`` valid entries with the highest scores.

    Entries are grouped by (image, class) with a stable sort by descending
    score followed by a stable sort by class, so ties keep the lower index.
    No host synchronisation; every shape is static.

    Args:
        scores (Tensor): (N, M) ranking scores (e.g. the teacher's attention
            score of each pixel).
        labels (Tensor): (N, M) long class of each entry; entries outside
            ``[0, num_classes)`` are never selected.
        valid (Tensor): (N, M) bool, entries allowed to be selected (e.g. the
            Feature Quality Filter).
        k (int): entries kept per image and class, >= 1.
        num_classes (int): number of classes C.

    Returns:
        tuple[Tensor, Tensor]: ``index`` (N, C, k) long, positions into M of
        the selected entries of class c in image n, best first; ``keep``
        (N, C, k) bool, False at rank r where image n has r or fewer
        valid entries of class c (the index there is meaningless).
    """
    assert scores.shape == labels.shape == valid.shape and scores.dim() == 2
    assert k >= 1, f'k must be >= 1, got {k}'
    num, length = scores.shape
    valid = valid & (labels >= 0) & (labels < num_classes)
    group = torch.where(valid, labels, torch.full_like(labels, num_classes))
    # best first ...
    order = torch.sort(
        scores.float(), dim=1, descending=True, stable=True).indices
    # ... then grouped by class, keeping the score order within a class
    by_class = torch.sort(
        group.gather(1, order), dim=1, stable=True).indices
    order = order.gather(1, by_class)
    counts = torch.zeros(
        num, num_classes + 1, dtype=torch.long,
        device=scores.device).scatter_add_(1, group,
                                           torch.ones_like(group))
    starts = counts.cumsum(1) - counts
    rank = torch.arange(k, device=scores.device)
    pos = starts[:, :num_classes, None] + rank  # (N, C, k)
    keep = rank < counts[:, :num_classes, None]
    pos = pos.clamp(max=max(length - 1, 0))
    index = order.gather(1, pos.flatten(1)).view(num, num_classes, k)
    return index, keep


class ClassMemoryBank(nn.Module):
    """One FIFO ring buffer of feature vectors per class.

    State (registered buffers, saved in checkpoints and restored bit for bit
    on resume):

    - ``bank`` (C, psi, D): the entries; slot ``j`` of class ``c`` is valid
      iff ``j < count[c]``.
    - ``ptr`` (C,) long: next slot to write for each class; once the class is
      full it is also its oldest entry, so the oldest entries are replaced
      first.
    - ``count`` (C,) long: number of valid entries, at most psi.

    :meth:`push` is equivalent to appending the valid rows one after another
    in their order (so when a class receives more than psi rows in one push,
    only its last psi rows are kept), but runs as one vectorised scatter
    without host synchronisation.

    Args:
        num_classes (int): number of classes C.
        feat_dim (int): feature dimension D. Default: 256 (the paper's
            projection size).
        size (int): entries per class, psi. Default: 256 (paper, section
            4.2 and Table 7).
        dtype (torch.dtype): storage type of the entries. Default:
            torch.float32 (features pushed under AMP are stored in float32).
    """

    def __init__(self,
                 num_classes: int,
                 feat_dim: int = 256,
                 size: int = 256,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        assert num_classes >= 1 and feat_dim >= 1 and size >= 1
        self.num_classes = num_classes
        self.feat_dim = feat_dim
        self.size = size
        self.register_buffer('bank',
                             torch.zeros(num_classes, size, feat_dim,
                                         dtype=dtype))
        self.register_buffer('ptr', torch.zeros(num_classes,
                                                dtype=torch.long))
        self.register_buffer('count',
                             torch.zeros(num_classes, dtype=torch.long))

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, feat_dim={self.feat_dim}, '
                f'size={self.size}')

    # ------------------------------------------------------------------
    @property
    def valid_mask(self) -> Tensor:
        """(C, psi) bool: which slots hold an entry."""
        slots = torch.arange(self.size, device=self.count.device)
        return slots[None] < self.count[:, None]

    def entries(self) -> Tuple[Tensor, Tensor]:
        """All slots and their validity (slot order, not age order).

        Returns:
            tuple[Tensor, Tensor]: ``bank`` (C, psi, D) and ``valid``
            (C, psi) bool.
        """
        return self.bank, self.valid_mask

    def ordered(self) -> Tuple[Tensor, Tensor]:
        """Entries of each class from the oldest to the newest.

        Returns:
            tuple[Tensor, Tensor]: (C, psi, D) entries where row ``j`` of class
            ``c`` is its ``j``-th oldest entry, and (C, psi) bool validity
            (the first ``count[c]`` rows).
        """
        full = self.count == self.size
        start = torch.where(full, self.ptr, torch.zeros_like(self.ptr))
        slots = (start[:, None] +
                 torch.arange(self.size, device=self.ptr.device)) % self.size
        bank = self.bank.gather(
            1, slots[..., None].expand(-1, -1, self.feat_dim))
        return bank, self.valid_mask

    @torch.no_grad()
    # ------------------------------------------------------------------
    @torch.no_grad()
    def push(self, feats: Tensor, labels: Tensor,
             gather: bool = True) -> None:
        """Append rows to the queues of their classes.

        Args:
            feats (Tensor): (M, D) features (no gradient is kept).
            labels (Tensor): (M,) long class of each row; rows whose label is
                outside ``[0, C)`` (e.g. -1 or the ignore index) are skipped.
            gather (bool): under DDP, first gather the rows of every rank
                (:func:`mmengine.dist.all_gather`, rank order) so that every
                rank pushes the same rows and keeps the same bank. Every rank
                must then call :meth:`push` with tensors of the same shape.
                Default: True.
        """
        assert feats.dim() == 2 and feats.shape[1] == self.feat_dim, \
            f'feats must be (M, {self.feat_dim}), got {tuple(feats.shape)}'
        assert labels.shape == feats.shape[:1], \
            'labels must be (M,) like the rows of feats'
        feats = feats.detach().to(self.bank.dtype)
        labels = labels.detach().long()
        if gather and get_world_size() > 1:
            feats = torch.cat(all_gather(feats.contiguous()))
            labels = torch.cat(all_gather(labels.contiguous()))
        self._push_local(feats, labels)

    def _push_local(self, feats: Tensor, labels: Tensor) -> None:
        """The ring write of :meth:`push` on this rank's bank."""
        num_classes, size = self.num_classes, self.size
        valid = (labels >= 0) & (labels < num_classes)
        group = torch.where(valid, labels,
                            torch.full_like(labels, num_classes))
        one_hot = F.one_hot(group, num_classes + 1)  # (M, C + 1)
        # position of each row among the rows of its class, in push order
        rank = (one_hot.cumsum(0) * one_hot).sum(1) - 1
        pushed = one_hot.sum(0)[:num_classes]  # (C,)
        cls = group.clamp(max=num_classes - 1)
        skipped = (pushed - size).clamp(min=0)  # older rows overwritten
        keep = valid & (rank >= skipped[cls])
        slot = (self.ptr[cls] + rank - skipped[cls]) % size
        # rows that are not written go to a scratch row past the end
        target = torch.where(keep, cls * size + slot,
                             torch.full_like(slot, num_classes * size))
        flat = torch.cat([
            self.bank.view(num_classes * size, self.feat_dim),
            self.bank.new_zeros(1, self.feat_dim)
        ])
        flat.index_copy_(0, target, feats)
        self.bank.copy_(flat[:-1].view_as(self.bank))
        written = pushed.clamp(max=size)
        self.ptr.copy_((self.ptr + written) % size)
        self.count.copy_((self.count + pushed).clamp(max=size))
