"""A decode head wrapper that adds ReCo's representation branch."""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, SampleList


@MODELS.register_module()
class RepresentationHead(BaseModule):
    """Any mmseg decode head plus a representation branch (ReCo).

    `ReCo: Bootstrapping Semantic Segmentation with Regional Contrast
    <https://arxiv.org/abs/2104.04465>`_, section 3.1: a representation head
    (conv3x3-BN-ReLU-conv1x1 to ``rep_dim`` channels) parallel to the
    classifier, trained with the ReCo loss.

    The inner head is built from ``decode_head`` and left untouched. A
    forward pre-hook on one of its sub-modules (the *tap*) captures that
    module's input during training; the representation branch runs on it::

        training:   forward(x) -> inner.forward(x) ─┬─> logits
                                      tap ──> rep_branch ──> rep
                    loss(x)    -> loss_by_feat((logits, rep), samples)
                                  = inner CE losses + ReCo loss (ground truth)
        inference:  predict(x) -> inner.predict(x)   (no rep, no extra cost)

    Tap points:

    - ``'cls_seg'`` (default): the feature the inner head passes to its
      ``cls_seg`` (``channels`` wide). It is captured at the input of the
      inner head's ``dropout`` (or ``conv_seg`` when dropout is off), i.e.
      before dropout. Works with every ``BaseDecodeHead``.
    - the name of any sub-module, e.g. ``'sep_bottleneck'`` for mmseg's
      ``DepthwiseSeparableASPPHead``: its input is the 304-channel
      concatenation of upsampled ASPP features and low-level features, where
      ReCo's own DeepLabV3+ branches off, parallel to the classifier's
      convolutions. The paper configs (``configs/_base_/models/
      deeplabv3plus_r101-d8_rep.py``) use this tap.

    Args:
        decode_head (dict): config of the inner mmseg decode head.
        rep_dim (int): channels of the representation. Default: 256.
        rep_channels (int, optional): hidden channels of the branch.
            Default: the inner head's ``channels``.
        tap (str): ``'cls_seg'`` or the name of a sub-module of the inner
            head whose input feeds the branch. Default: ``'cls_seg'``.
        tap_channels (int, optional): channels of the tapped feature; found
            from the first convolution of the tapped module when omitted.
        norm_cfg (dict): norm layer of the branch. Default: ``dict(type=
            'BN')`` (use ``SyncBN`` for multi-GPU configs).
        act_cfg (dict): activation of the branch. Default: ReLU.
        loss_rep (dict, optional): config of the representation loss, e.g.
            ``dict(type='ReCoLoss')``. ``None`` trains the branch through
            :meth:`loss_rep_by_feat` callers only.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 decode_head: ConfigType,
                 rep_dim: int = 256,
                 rep_channels: Optional[int] = None,
                 tap: str = 'cls_seg',
                 tap_channels: Optional[int] = None,
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 loss_rep: OptConfigType = dict(type='ReCoLoss'),
                 init_cfg: OptConfigType = None):
        super().__init__(init_cfg=init_cfg)
        self.decode_head = MODELS.build(decode_head)
        self.tap = tap
        tap_module = self._tap_module(tap)
        if tap_channels is None:
            tap_channels = (
                self.decode_head.channels
                if tap == 'cls_seg' else self._in_channels(tap_module, tap))
        rep_channels = rep_channels or self.decode_head.channels
        self.rep_branch = nn.Sequential(
            ConvModule(
                tap_channels,
                rep_channels,
                3,
                padding=1,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg),
            nn.Conv2d(rep_channels, rep_dim, kernel_size=1))
        self.loss_rep = MODELS.build(loss_rep) if loss_rep else None
        self._capture = False
        self._tapped: List[Tensor] = []
        tap_module.register_forward_pre_hook(self._capture_hook)

    # ------------------------------------------------------------------
    # attributes that mmseg's EncoderDecoder reads from its decode head
    @property
    def align_corners(self) -> bool:
        return self.decode_head.align_corners

    @property
    def num_classes(self) -> int:
        return self.decode_head.num_classes

    @property
    def out_channels(self) -> int:
        return self.decode_head.out_channels

    @property
    def ignore_index(self) -> int:
        return self.decode_head.ignore_index

    @property
    def threshold(self) -> Optional[float]:
        return self.decode_head.threshold

    # ------------------------------------------------------------------
    def _tap_module(self, tap: str) -> nn.Module:
        head = self.decode_head
        if tap == 'cls_seg':
            if not hasattr(head, 'conv_seg'):
                raise ValueError(
                    f'{type(head).__name__} has no conv_seg: choose a tap '
                    'module by name')
            return head.dropout if head.dropout is not None else head.conv_seg
        modules = dict(head.named_modules())
        if tap not in modules or tap == '':
            raise ValueError(
                f'tap={tap!r} is not a sub-module of {type(head).__name__}; '
                f"use 'cls_seg' or one of {sorted(k for k in modules if k)}")
        return modules[tap]

    @staticmethod
    def _in_channels(module: nn.Module, tap: str) -> int:
        for m in module.modules():
            if isinstance(m, nn.Conv2d):
                return m.in_channels
        raise ValueError(f'cannot infer the channels of tap {tap!r}; '
                         'set tap_channels')

    def _capture_hook(self, module: nn.Module, args: Tuple) -> None:
        if self._capture:
            self._tapped.append(args[0])

    # ------------------------------------------------------------------
    def forward(
            self,
            inputs: List[Tensor]) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        """Logits, plus the representation in training mode.

        Args:
            inputs (list[Tensor]): multi-level backbone features.

        Returns:
            Tensor | tuple[Tensor, Tensor]: in eval mode the inner head's
            logits (N, K, h, w); in training mode ``(logits, rep)`` with rep
            (N, rep_dim, h', w') at the tap's resolution.
        """
        if not self.training:
            return self.decode_head.forward(inputs)
        return self.forward_train(inputs)

    def forward_train(self, inputs: List[Tensor]) -> Tuple[Tensor, Tensor]:
        """Run the inner head once, capturing the tapped feature.

        Returns:
            tuple[Tensor, Tensor]: logits (N, K, h, w) and representation
            (N, rep_dim, h', w').
        """
        self._capture, self._tapped = True, []
        try:
            logits = self.decode_head.forward(inputs)
        finally:
            self._capture = False
        if len(self._tapped) != 1:
            raise RuntimeError(
                f'tap {self.tap!r} ran {len(self._tapped)} times in one '
                f'forward of {type(self.decode_head).__name__}; expected once')
        rep = self.rep_branch(self._tapped.pop())
        return logits, rep

    def predict(self, inputs: List[Tensor], batch_img_metas: List[dict],
                test_cfg: ConfigType) -> Tensor:
        """The inner head's own inference path (logits only)."""
        return self.decode_head.predict(inputs, batch_img_metas, test_cfg)

    def loss(self, inputs: List[Tensor], batch_data_samples: SampleList,
             train_cfg: ConfigType) -> Dict[str, Tensor]:
        """Supervised losses: the inner head's losses plus ReCo (Eq. 5)."""
        return self.loss_by_feat(self.forward_train(inputs),
                                 batch_data_samples)

    def loss_by_feat(self, seg_outputs: Tuple[Tensor, Tensor],
                     batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Inner head losses on the logits plus the representation loss.

        Args:
            seg_outputs (tuple[Tensor, Tensor]): logits (N, K, h, w) and
                representation (N, D, h', w') from :meth:`forward_train`.
            batch_data_samples (list[SegDataSample]): samples with
                ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: the inner head's losses (``loss_ce``,
            ``acc_seg``) and the representation loss with its statistics.
        """
        logits, rep = seg_outputs
        losses = self.decode_head.loss_by_feat(logits, batch_data_samples)
        if self.loss_rep is not None:
            labels = self.decode_head._stack_batch_gt(
                batch_data_samples).squeeze(1)
            losses.update(self.loss_rep_by_feat(logits, rep, labels))
        return losses

    def loss_rep_by_feat(self,
                         logits: Tensor,
                         rep: Tensor,
                         labels: Tensor,
                         valid_mask: Optional[Tensor] = None,
                         loss_rep: Optional[nn.Module] = None
                         ) -> Dict[str, Tensor]:
        """The representation loss at the representation's resolution.

        Labels (and the validity mask) are downsampled by nearest neighbour
        and the logits resized bilinearly to the representation's size.

        Args:
            logits (Tensor): (N, K, h, w) student logits.
            rep (Tensor): (N, D, h', w') representation.
            labels (Tensor): (N, H, W) long labels (ground truth or pseudo),
                ``ignore_index`` where unknown.
            valid_mask (Tensor, optional): (N, H, W) bool, pixels allowed to
                take part (e.g. confident pseudo-labels).
            loss_rep (nn.Module, optional): the loss to apply; defaults to
                this head's ``loss_rep``.

        Returns:
            dict[str, Tensor]: the loss of ``loss_rep`` and its statistics.
        """
        size = rep.shape[2:]
        labels = F.interpolate(
            labels[:, None].float(), size=size, mode='nearest')[:, 0].long()
        if valid_mask is not None:
            valid_mask = F.interpolate(
                valid_mask[:, None].float(), size=size,
                mode='nearest')[:, 0].bool()
        if logits.shape[2:] != size:
            logits = F.interpolate(
                logits, size=size, mode='bilinear',
                align_corners=self.align_corners)
        prob = torch.softmax(logits.float(), dim=1)
        loss_rep = loss_rep or self.loss_rep
        return loss_rep(rep, labels, prob, valid_mask)
