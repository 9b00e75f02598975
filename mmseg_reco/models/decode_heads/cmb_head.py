"""Decode head wrapper with the projection, prediction and attention heads of
the class-wise memory bank method (Alonso et al., ICCV 2021)."""
import math
from typing import Any, Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, SampleList

from .representation_head import RepresentationHead

__all__ = ['ClassWiseAttention', 'CMBHead']


class ClassWiseAttention(nn.Module):
    """C class-specific attention MLPs evaluated together.

    Module ``c`` is ``Linear(D, H) -> BatchNorm1d(H) -> LeakyReLU ->
    Linear(H, 1) -> Sigmoid`` (paper section 4.2) and scores only the rows of
    class ``c``. All C modules are stored as stacked weights. The rows
    that take part are grouped by class (one sort and one host read of the
    C group sizes), and each group runs through its own module's layers on
    contiguous rows: M x D x H multiply-adds for the first layer, the cost
    of one linear layer per row, as separate modules cost, with no per-row
    copies of any class's parameters. The batch normalisation uses, in
    training mode, the statistics of the rows of each class only, exactly
    as C separate ``BatchNorm1d`` modules each fed its own class would; its
    running statistics (momentum ``bn_momentum``, unbiased variance) are
    updated for the classes with at least two rows, and used in eval mode.
    The output of row i equals that of a separate module ``c = labels[i]``
    (see the tests). As with ``BatchNorm1d``, the statistics are those of
    this process's rows (not synchronised across DDP ranks).

    Args:
        num_classes (int): number of classes C.
        in_dim (int): input dimension D. Default: 256.
        hidden_dim (int): hidden dimension H. Default: 256 (paper).
        negative_slope (float): LeakyReLU slope. Default: 0.2 (the authors'
            code; the paper does not give it).
        bn_momentum (float): momentum of the running statistics.
            Default: 0.1 (``BatchNorm1d``).
        eps (float): batch-norm epsilon. Default: 1e-5.
    """

    def __init__(self,
                 num_classes: int,
                 in_dim: int = 256,
                 hidden_dim: int = 256,
                 negative_slope: float = 0.2,
                 bn_momentum: float = 0.1,
                 eps: float = 1e-5) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.in_dim = in_dim
        self.hidden_dim = hidden_dim
        self.negative_slope = negative_slope
        self.bn_momentum = bn_momentum
        self.eps = eps
        self.weight1 = nn.Parameter(torch.empty(num_classes, hidden_dim,
                                                in_dim))
        self.bias1 = nn.Parameter(torch.empty(num_classes, hidden_dim))
        self.bn_weight = nn.Parameter(torch.ones(num_classes, hidden_dim))
        self.bn_bias = nn.Parameter(torch.zeros(num_classes, hidden_dim))
        self.weight2 = nn.Parameter(torch.empty(num_classes, hidden_dim))
        self.bias2 = nn.Parameter(torch.empty(num_classes))
        self.register_buffer('running_mean',
                             torch.zeros(num_classes, hidden_dim))
        self.register_buffer('running_var',
                             torch.ones(num_classes, hidden_dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``nn.Linear``'s default initialisation, per class."""
        bound1 = 1.0 / math.sqrt(self.in_dim)
        bound2 = 1.0 / math.sqrt(self.hidden_dim)
        nn.init.uniform_(self.weight1, -bound1, bound1)
        nn.init.uniform_(self.bias1, -bound1, bound1)
        nn.init.uniform_(self.weight2, -bound2, bound2)
        nn.init.uniform_(self.bias2, -bound2, bound2)
        nn.init.ones_(self.bn_weight)
        nn.init.zeros_(self.bn_bias)
        self.running_mean.zero_()
        self.running_var.fill_(1.0)

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, in_dim={self.in_dim}, '
                f'hidden_dim={self.hidden_dim}, '
                f'negative_slope={self.negative_slope}')

    def forward(self,
                x: Tensor,
                labels: Tensor,
                valid: Optional[Tensor] = None) -> Tensor:
        """Score every row with the module of its class.

        Args:
            x (Tensor): (M, D) feature vectors.
            labels (Tensor): (M,) long class of each row.
            valid (Tensor, optional): (M,) bool rows that take part (in the
                batch statistics too); rows with a label outside ``[0, C)``
                never do.

        Returns:
            Tensor: (M,) float32 scores in (0, 1); 0 for rows that do not
            take part.
        """
        assert x.dim() == 2 and x.shape[1] == self.in_dim
        num_classes = self.num_classes
        in_range = (labels >= 0) & (labels < num_classes)
        valid = in_range if valid is None else valid & in_range
        # rows that take part, grouped by class (one sort, one host read of
        # the C group sizes); the others go to a last bucket, never scored
        key = torch.where(valid, labels, torch.full_like(labels, num_classes))
        order = torch.argsort(key)
        sizes = torch.bincount(key, minlength=num_classes + 1).tolist()
        groups = x[order].split(sizes)[:num_classes]
        scores = [
            self._score_group(group, c) for c, group in enumerate(groups)
            if group.shape[0]
        ]
        out = x.new_zeros(x.shape[0], dtype=torch.float32)
        if scores:
            num_valid = x.shape[0] - sizes[-1]
            out = out.index_put((order[:num_valid], ), torch.cat(scores))
        # the parameters of classes without rows join the graph with weight
        # 0, so that every rank's DDP reducer gets a (zero) gradient for
        # each of them
        unused = sum(p.sum() for p in self.parameters()) * 0.0
        return out + unused

    def _score_group(self, rows: Tensor, c: int) -> Tensor:
        """Module ``c`` on its rows (n, D): scores (n,) float32."""
        h = F.linear(rows, self.weight1[c]).float() + self.bias1[c].float()
        if self.training:
            mean = h.mean(0)
            var = (h - mean).square().mean(0)
            num = h.shape[0]
            if num > 1:  # BatchNorm1d's running statistics (unbiased)
                with torch.no_grad():
                    momentum = self.bn_momentum
                    self.running_mean[c].mul_(1 - momentum).add_(
                        mean.detach(), alpha=momentum)
                    self.running_var[c].mul_(1 - momentum).add_(
                        var.detach() * (num / (num - 1)), alpha=momentum)
        else:
            mean, var = self.running_mean[c], self.running_var[c]
        h = (h - mean) * torch.rsqrt(var + self.eps)
        h = F.leaky_relu(h * self.bn_weight[c] + self.bn_bias[c],
                         self.negative_slope)
        logits = (h @ self.weight2[c]).float() + self.bias2[c].float()
        return torch.sigmoid(logits)


def _mlp(in_channels: int, hidden: int, out_channels: int,
         norm_cfg: ConfigType, act_cfg: ConfigType) -> nn.Sequential:
    """Per-pixel Linear-BN-ReLU-Linear: 1x1 conv + norm + act, 1x1 conv."""
    return nn.Sequential(
        ConvModule(
            in_channels, hidden, 1, norm_cfg=norm_cfg, act_cfg=act_cfg),
        nn.Conv2d(hidden, out_channels, kernel_size=1))


@MODELS.register_module()
class CMBHead(RepresentationHead):
    """Any mmseg decode head plus the heads of the class-wise memory bank.

    `Semi-Supervised Semantic Segmentation with Pixel-Level Contrastive
    Learning from a Class-wise Memory Bank
    <https://arxiv.org/abs/2104.13415>`_, sections 3.4 and 4.2. On the
    feature V that the inner head passes to its classifier (captured with
    :class:`RepresentationHead`'s tap), per pixel:

    - the projection head g (``rep_branch``): Linear-BN-ReLU-Linear with
      hidden and output size 256, Z = g(V);
    - the prediction head q (``pred_branch``): the same MLP on Z, P = q(Z);
    - ``2 x C`` class-specific attention modules
      (Linear-BN-LeakyReLU-Linear-Sigmoid, 256 -> 1): ``proj_attention``
      scores projections (memory-bank entries and the teacher's ranking of
      bank candidates), ``pred_attention`` scores predictions. Each set is
      one :class:`ClassWiseAttention`, evaluated for all classes at once.

    ::

        training:  forward(x) = forward_train(x) -> dict(seg_logits, proj,
                                                         pred)
        eval:      forward(x) / predict(x) -> the inner head's logits only

    The attention modules are not called by :meth:`forward`: they take class
    labels, and the method loss (:class:`CMBTerm`) calls them. The
    supervised loss (:meth:`loss_by_feat`) is the inner head's loss on the
    logits.

    Args:
        decode_head (dict): config of the inner mmseg decode head.
        proj_dim (int): output size of g and q. Default: 256.
        proj_hidden (int): hidden size of g and q. Default: 256.
        attention_hidden (int): hidden size of the attention modules.
            Default: 256.
        attention_negative_slope (float): LeakyReLU slope of the attention
            modules. Default: 0.2 (the authors' code).
        tap (str): where V is taken, see :class:`RepresentationHead`.
            Default: ``'cls_seg'`` (the input of the classifier, as the
            paper's f_theta-).
        tap_channels (int, optional): channels of V; inferred when omitted.
        norm_cfg (dict): norm layer of g and q. Default: BN.
        act_cfg (dict): activation of g and q. Default: ReLU.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 decode_head: ConfigType,
                 proj_dim: int = 256,
                 proj_hidden: int = 256,
                 attention_hidden: int = 256,
                 attention_negative_slope: float = 0.2,
                 tap: str = 'cls_seg',
                 tap_channels: Optional[int] = None,
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 init_cfg: OptConfigType = None):
        super().__init__(
            decode_head=decode_head,
            rep_dim=proj_dim,
            rep_channels=proj_hidden,
            tap=tap,
            tap_channels=tap_channels,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            loss_rep=None,
            init_cfg=init_cfg)
        tap_channels = self.rep_branch[0].conv.in_channels
        self.proj_dim = proj_dim
        # g replaces the representation branch of the parent class, so the
        # tap hook feeds it
        self.rep_branch = _mlp(tap_channels, proj_hidden, proj_dim, norm_cfg,
                               act_cfg)
        self.pred_branch = _mlp(proj_dim, proj_hidden, proj_dim, norm_cfg,
                                act_cfg)
        num_classes = self.decode_head.num_classes
        self.proj_attention = ClassWiseAttention(
            num_classes, proj_dim, attention_hidden,
            attention_negative_slope)
        self.pred_attention = ClassWiseAttention(
            num_classes, proj_dim, attention_hidden,
            attention_negative_slope)

    # ------------------------------------------------------------------
    def forward_train(self,
                      inputs: List[Tensor],
                      with_pred: bool = True) -> Dict[str, Tensor]:
        """Logits, projections Z and predictions P, in any mode.

        Args:
            inputs (list[Tensor]): multi-level backbone features.
            with_pred (bool): also run the prediction head. Default: True.

        Returns:
            dict[str, Tensor]: ``seg_logits`` (N, K, h, w), ``proj`` Z
            (N, D, h', w') and, with ``with_pred``, ``pred`` P (N, D, h', w'),
            at the tap's resolution.
        """
        logits, proj = super().forward_train(inputs)
        outputs = dict(seg_logits=logits, proj=proj)
        if with_pred:
            outputs['pred'] = self.pred_branch(proj)
        return outputs

    def loss_by_feat(self, seg_outputs: Any,
                     batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """The inner head's supervised losses on the logits.

        Args:
            seg_outputs (dict | tuple | Tensor): output of
                :meth:`forward_train` (or the logits).
            batch_data_samples (list[SegDataSample]): samples with
                ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: the inner head's losses.
        """
        if isinstance(seg_outputs, dict):
            logits = seg_outputs['seg_logits']
        elif isinstance(seg_outputs, (tuple, list)):
            logits = seg_outputs[0]
        else:
            logits = seg_outputs
        return self.decode_head.loss_by_feat(logits, batch_data_samples)
