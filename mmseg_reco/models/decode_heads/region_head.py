"""A MaskFormer-style region head (mask classification) for RC2L."""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmcv.ops import point_sample
from torch import Tensor

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.losses import accuracy
from mmseg.registry import MODELS, TASK_UTILS
from mmseg.utils import ConfigType, SampleList

from ..losses.mask_losses import (dice_loss, reduce_num_masks,
                                  sigmoid_ce_loss, sigmoid_focal_loss)
from ..matchers.hungarian_matcher import HungarianMatcher  # noqa: F401
from ...utils.config_groups import LEGACY_GROUP_KEYS, resolve_groups

#: mask losses accepted by ``RegionHead(mask_loss=dict(form=...))``
MASK_LOSSES = ('focal', 'bce')


def sine_position_encoding(feat: Tensor,
                           num_feats: int,
                           temperature: float = 10000.,
                           scale: float = 2 * math.pi,
                           eps: float = 1e-6) -> Tensor:
    """DETR's normalised 2-D sine position encoding (no padding mask).

    Args:
        feat (Tensor): (B, C, h, w) feature map (only its size, device and
            dtype are used).
        num_feats (int): channels per axis; the encoding has ``2 *
            num_feats`` channels (y first, then x).
        temperature (float): wavelength base. Default: 10000.
        scale (float): the normalised coordinates span [0, scale].
            Default: 2 pi.
        eps (float): avoids division by zero. Default: 1e-6.

    Returns:
        Tensor: (1, 2 * num_feats, h, w) encoding.
    """
    h, w = feat.shape[-2:]
    device = feat.device
    y = torch.arange(1, h + 1, dtype=torch.float32, device=device)
    x = torch.arange(1, w + 1, dtype=torch.float32, device=device)
    y = (y / (h + eps) * scale)[:, None].expand(h, w)
    x = (x / (w + eps) * scale)[None, :].expand(h, w)
    dim_t = torch.arange(num_feats, dtype=torch.float32, device=device)
    dim_t = temperature**(2 * torch.div(dim_t, 2, rounding_mode='floor') /
                          num_feats)
    pos = []
    for coord in (y, x):
        angles = coord[..., None] / dim_t
        pos.append(
            torch.stack((angles[..., 0::2].sin(), angles[..., 1::2].cos()),
                        dim=-1).flatten(-2))
    return torch.cat(pos, dim=-1).permute(2, 0, 1)[None].to(feat.dtype)


def semantic_inference(cls_logits: Tensor, mask_logits: Tensor) -> Tensor:
    """MaskFormer's semantic inference: ``sum_q p_q(k) sigmoid(m_q)``.

    Args:
        cls_logits (Tensor): (B, Q, K+1) class logits.
        mask_logits (Tensor): (B, Q, h, w) mask logits.

    Returns:
        Tensor: (B, K, h, w) float32 class scores (not normalised; their
        argmax is the label).
    """
    with torch.autocast(device_type=cls_logits.device.type, enabled=False):
        prob = cls_logits.float().softmax(-1)[..., :-1]
        return torch.einsum('bqk,bqhw->bkhw', prob,
                            mask_logits.float().sigmoid())


def uncertain_point_coords(mask_logits: Tensor, num_points: int,
                           oversample_ratio: float,
                           importance_sample_ratio: float) -> Tensor:
    """Mask2Former's importance point sampling (PointRend), batched.

    ``num_points * oversample_ratio`` random points are drawn per mask; the
    ``importance_sample_ratio * num_points`` most uncertain ones (logit
    closest to 0) are kept and the rest are drawn uniformly.

    Args:
        mask_logits (Tensor): (M, 1, h, w) mask logits.
        num_points (int): points per mask.
        oversample_ratio (float): oversampling factor (>= 1).
        importance_sample_ratio (float): share of uncertain points, [0, 1].

    Returns:
        Tensor: (M, num_points, 2) coordinates in [0, 1].
    """
    num_masks = mask_logits.shape[0]
    device = mask_logits.device
    num_sampled = int(num_points * oversample_ratio)
    coords = torch.rand(num_masks, num_sampled, 2, device=device)
    uncertainty = -point_sample(
        mask_logits.float(), coords, align_corners=False)[:, 0].abs()
    num_uncertain = int(importance_sample_ratio * num_points)
    index = uncertainty.topk(num_uncertain, dim=1).indices
    coords = coords.gather(1, index[..., None].expand(-1, -1, 2))
    num_random = num_points - num_uncertain
    if num_random > 0:
        coords = torch.cat(
            [coords, torch.rand(num_masks, num_random, 2, device=device)],
            dim=1)
    return coords


class FPNPixelDecoder(nn.Module):
    """MaskFormer's ``BasePixelDecoder``: a top-down FPN to 1/4 resolution.

    From the coarsest feature down: a 1x1 lateral convolution of each finer
    feature plus the nearest-upsampled coarser output, then a 3x3
    convolution; a final 3x3 convolution gives the per-pixel embeddings.

    Args:
        in_channels (Sequence[int]): channels of the features, finest first.
        channels (int): FPN channels.
        out_channels (int): channels of the per-pixel embeddings.
        norm_cfg (dict, optional): norm of the FPN convolutions.
        act_cfg (dict): activation of the output convolutions.
    """

    def __init__(self, in_channels: Sequence[int], channels: int,
                 out_channels: int, norm_cfg: Optional[ConfigType],
                 act_cfg: ConfigType) -> None:
        super().__init__()
        self.lateral_convs = nn.ModuleList()
        self.output_convs = nn.ModuleList()
        for i, in_ch in enumerate(in_channels):
            coarsest = i == len(in_channels) - 1
            self.lateral_convs.append(None if coarsest else ConvModule(
                in_ch, channels, 1, norm_cfg=norm_cfg, act_cfg=None))
            self.output_convs.append(
                ConvModule(
                    in_ch if coarsest else channels,
                    channels,
                    3,
                    padding=1,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg))
        self.mask_features = nn.Conv2d(
            channels, out_channels, kernel_size=3, padding=1)

    def forward(self, feats: List[Tensor]) -> Tensor:
        """Per-pixel embeddings (B, out_channels, h, w) at the finest level."""
        y = self.output_convs[-1](feats[-1])
        for i in range(len(feats) - 2, -1, -1):
            lateral = self.lateral_convs[i](feats[i])
            y = lateral + F.interpolate(
                y, size=lateral.shape[-2:], mode='nearest')
            y = self.output_convs[i](y)
        return self.mask_features(y)


class DETRDecoderLayer(nn.Module):
    """A post-norm DETR decoder layer built from ``nn.MultiheadAttention``.

    Self-attention among the queries, cross-attention to the image tokens
    and a feed-forward network; the query position embedding is added to
    the queries and the sine encoding to the keys of every attention, as in
    DETR (which ``nn.TransformerDecoderLayer`` does not support).

    Args:
        dim (int): embedding dimension.
        num_heads (int): attention heads.
        ffn_channels (int): hidden width of the feed-forward network.
        dropout (float): dropout of attention, FFN and residual branches.
    """

    def __init__(self, dim: int, num_heads: int, ffn_channels: int,
                 dropout: float) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(
            dim, num_heads, dropout=dropout, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(
            dim, num_heads, dropout=dropout, batch_first=True)
        self.ffn = nn.Sequential(
            nn.Linear(dim, ffn_channels), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(ffn_channels, dim))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(3))
        self.dropouts = nn.ModuleList(nn.Dropout(dropout) for _ in range(3))

    def forward(self, query: Tensor, memory: Tensor, pos: Tensor,
                query_pos: Tensor) -> Tensor:
        """Update the queries.

        Args:
            query (Tensor): (B, Q, D) queries.
            memory (Tensor): (B, L, D) image tokens.
            pos (Tensor): (B or 1, L, D) position encoding of the tokens.
            query_pos (Tensor): (B or 1, Q, D) query position embedding.

        Returns:
            Tensor: (B, Q, D) updated queries.
        """
        q = query + query_pos
        out = self.self_attn(q, q, query, need_weights=False)[0]
        query = self.norms[0](query + self.dropouts[0](out))
        out = self.cross_attn(
            query + query_pos, memory + pos, memory, need_weights=False)[0]
        query = self.norms[1](query + self.dropouts[1](out))
        return self.norms[2](query + self.dropouts[2](self.ffn(query)))


@MODELS.register_module()
class RegionHead(BaseDecodeHead):
    """MaskFormer head: region (mask) classification, without mmdet.

    `Per-Pixel Classification is Not All You Need for Semantic Segmentation
    <https://arxiv.org/abs/2107.06278>`_, the segmentation head of RC2L
    (Zhang et al., IJCAI 2022, section 4.1). ``num_queries`` learned
    queries attend to the coarsest backbone feature through a DETR decoder;
    each query gives class logits over K+1 classes (the last one is 'no
    object') and a mask embedding whose dot product with the per-pixel
    embeddings of an FPN pixel decoder (1/4 resolution) is its mask::

        forward(x) -> pixel decoder      -> mask_features (B, C, h, w)
                      decoder(queries)   -> pred_logits (B, Q, K+1)
                                            pred_masks  (B, Q, h, w)
                      semantic inference -> seg_logits  (B, K, h, w)
        loss(x)    -> loss_by_feat(forward(x), samples)
                      = Hungarian matching to the ground-truth segments (one
                        per class present) + CE over K+1 (no object weighted
                        eos_coef) + focal + dice mask losses, for the last
                        decoder layer and each auxiliary layer
        predict(x) -> masks upsampled to the input, semantic inference
                      -> (B, K, H, W) scores for EncoderDecoder / IoUMetric

    ``forward`` returns a dict in both modes (so that a teacher in eval mode
    still gives its regions); ``'seg_logits'`` holds the semantic scores for
    callers that need dense logits (``head_logits``). The scores are
    MaskFormer's ``sum_q p_q(k) sigmoid(m_q)``, not log-probabilities.

    Defaults follow MaskFormer's semantic segmentation configs: 256-d pixel
    decoder and transformer, 8 heads, 6 decoder layers, FFN 2048, dropout
    0.1, deep supervision, GroupNorm(32) in the pixel decoder, matcher and
    loss weights 1 (class), 20 (focal), 1 (dice), eos_coef 0.1. RC2L uses
    50 queries (paper Table 5). Losses are computed at
    ``point_sample['num_points']`` sampled points (Mask2Former's importance
    sampling); ``point_sample=dict(num_points=None)`` computes them densely
    at the label resolution as MaskFormer does.

    Args:
        in_channels (Sequence[int]): channels of the backbone features used,
            finest first (e.g. ResNet: 256, 512, 1024, 2048).
        channels (int): channels of the pixel decoder. Default: 256.
        num_classes (int): number of classes K.
        in_index (Sequence[int]): indices of the backbone features.
            Default: (0, 1, 2, 3).
        mask_dim (int): dimension of the per-pixel and mask embeddings.
            Default: 256.
        num_queries (int): number of queries. Default: 50.
        transformer (dict, optional): the DETR decoder; keys and defaults:

            - ``hidden_dim`` (int, even): transformer dimension.
              Default: 256.
            - ``num_heads`` (int): attention heads. Default: 8.
            - ``num_layers`` (int): decoder layers. Default: 6.
            - ``ffn_channels`` (int): FFN width. Default: 2048.
            - ``dropout`` (float): transformer dropout. Default: 0.1.
            - ``in_index`` (int): which of the selected features the
              queries attend to. Default: -1 (the coarsest).
        deep_supervision (bool): losses on every decoder layer.
            Default: True.
        matcher (dict): ``HungarianMatcher`` config (TASK_UTILS).
        eos_coef (float): CE weight of the 'no object' class. Default: 0.1.
        loss_weights (dict, optional): MaskFormer's ``weight_dict``; keys
            and defaults:

            - ``cls`` (float): weight of the class CE. Default: 1.0.
            - ``mask`` (float): weight of the focal/BCE mask loss.
              Default: 20.0.
            - ``dice`` (float): weight of the dice loss. Default: 1.0.
        mask_loss (dict, optional): the per-pixel mask loss; keys and
            defaults:

            - ``form`` (str): ``'focal'`` (MaskFormer) or ``'bce'``.
              Default: 'focal'.
            - ``focal_alpha`` (float): focal alpha. Default: 0.25.
            - ``focal_gamma`` (float): focal gamma. Default: 2.0.
        point_sample (dict, optional): the points of the mask losses; keys
            and defaults:

            - ``num_points`` (int, optional): points per mask; None: dense.
              Default: 12544.
            - ``oversample_ratio`` (float, >= 1): importance sampling
              oversampling. Default: 3.0.
            - ``importance_sample_ratio`` (float, [0, 1]): share of
              uncertain points. Default: 0.75.
        norm_cfg (dict): norm of the pixel decoder.
            Default: ``dict(type='GN', num_groups=32)``.
        act_cfg (dict): activation of the pixel decoder. Default: ReLU.
        init_cfg (dict, optional): initialisation config. Default: None
            (Xavier for the transformer, as DETR).
        **kwargs: other ``BaseDecodeHead`` arguments (``align_corners``,
            ``ignore_index``), and the deprecated flat arguments (see
            below).

    Each dict argument but ``matcher``, ``norm_cfg``, ``act_cfg`` and
    ``init_cfg`` is merged over its defaults (:attr:`GROUP_DEFAULTS`), so a
    config may set one key (``point_sample=dict(num_points=None)``); an
    unknown key raises a ValueError naming the argument and its keys.

    The flat arguments before the grouping (``hidden_dim``,
    ``loss_cls_weight``, ``num_points``, ..., and ``mask_loss`` as a str;
    ``LEGACY_GROUP_KEYS['RegionHead']`` in
    :mod:`mmseg_reco.utils.config_groups`) are deprecated: they are taken
    for one release, moved into their groups with a DeprecationWarning that
    names the new key; an old argument together with its key in the group
    raises a TypeError, and any other name still reaches ``BaseDecodeHead``
    (an unexpected one raises its TypeError).
    """

    #: the defaults of the dict arguments (see ``Args``)
    GROUP_DEFAULTS = dict(
        transformer=dict(
            hidden_dim=256,
            num_heads=8,
            num_layers=6,
            ffn_channels=2048,
            dropout=0.1,
            in_index=-1),
        loss_weights=dict(cls=1.0, mask=20.0, dice=1.0),
        mask_loss=dict(form='focal', focal_alpha=0.25, focal_gamma=2.0),
        point_sample=dict(
            num_points=12544,
            oversample_ratio=3.0,
            importance_sample_ratio=0.75))

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int = 256,
                 *,
                 num_classes: int,
                 in_index: Sequence[int] = (0, 1, 2, 3),
                 mask_dim: int = 256,
                 num_queries: int = 50,
                 transformer: Optional[ConfigType] = None,
                 deep_supervision: bool = True,
                 matcher: ConfigType = dict(
                     type='HungarianMatcher',
                     cost_class=1.0,
                     cost_mask=20.0,
                     cost_dice=1.0),
                 eos_coef: float = 0.1,
                 loss_weights: Optional[ConfigType] = None,
                 mask_loss: Optional[ConfigType] = None,
                 point_sample: Optional[ConfigType] = None,
                 norm_cfg: ConfigType = dict(
                     type='GN', num_groups=32, requires_grad=True),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 init_cfg: Optional[ConfigType] = None,
                 **kwargs) -> None:
        legacy_table = LEGACY_GROUP_KEYS['RegionHead']
        legacy = {
            name: kwargs.pop(name)
            for name in list(kwargs) if name in legacy_table
        }
        if isinstance(mask_loss, str):
            legacy['mask_loss'], mask_loss = mask_loss, None
        transformer, weights, mask_loss, points = resolve_groups(
            'RegionHead',
            dict(
                transformer=transformer,
                loss_weights=loss_weights,
                mask_loss=mask_loss,
                point_sample=point_sample), self.GROUP_DEFAULTS, legacy)
        hidden_dim = transformer['hidden_dim']
        num_points = points['num_points']
        assert len(in_channels) == len(in_index) >= 1
        assert mask_loss['form'] in MASK_LOSSES, (
            f"mask_loss['form'] must be one of {MASK_LOSSES}, got "
            f"{mask_loss['form']!r}")
        assert hidden_dim % 2 == 0, (
            "transformer['hidden_dim'] must be even (sine encoding)")
        assert num_points is None or num_points > 0
        assert (points['oversample_ratio'] >= 1
                and 0 <= points['importance_sample_ratio'] <= 1)
        super().__init__(
            list(in_channels),
            channels,
            num_classes=num_classes,
            in_index=list(in_index),
            input_transform='multiple_select',
            dropout_ratio=0.,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            loss_decode=[],
            init_cfg=init_cfg,
            **kwargs)
        # mask classification replaces the per-pixel classifier
        del self.conv_seg
        self.num_queries = num_queries
        self.deep_supervision = deep_supervision
        self.transformer_in_index = transformer['in_index']

        self.pixel_decoder = FPNPixelDecoder(self.in_channels, channels,
                                             mask_dim, norm_cfg, act_cfg)
        tokens_in = self.in_channels[self.transformer_in_index]
        self.input_proj = (
            nn.Conv2d(tokens_in, hidden_dim, kernel_size=1)
            if tokens_in != hidden_dim else nn.Identity())
        self.query_embed = nn.Embedding(num_queries, hidden_dim)
        self.decoder_layers = nn.ModuleList(
            DETRDecoderLayer(hidden_dim, transformer['num_heads'],
                             transformer['ffn_channels'],
                             transformer['dropout'])
            for _ in range(transformer['num_layers']))
        self.decoder_norm = nn.LayerNorm(hidden_dim)
        self.cls_embed = nn.Linear(hidden_dim, num_classes + 1)
        self.mask_embed = nn.Sequential(
            nn.Linear(hidden_dim, hidden_dim), nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, hidden_dim), nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, mask_dim))

        self.matcher = TASK_UTILS.build(matcher)
        class_weight = torch.ones(num_classes + 1)
        class_weight[-1] = eos_coef
        self.register_buffer('class_weight', class_weight, persistent=False)
        self.eos_coef = eos_coef
        self.loss_cls_weight = weights['cls']
        self.loss_mask_weight = weights['mask']
        self.loss_dice_weight = weights['dice']
        self.mask_loss = mask_loss['form']
        self.focal_alpha = mask_loss['focal_alpha']
        self.focal_gamma = mask_loss['focal_gamma']
        self.num_points = num_points
        self.oversample_ratio = points['oversample_ratio']
        self.importance_sample_ratio = points['importance_sample_ratio']

    def init_weights(self) -> None:
        """Xavier-uniform transformer weights (DETR), then ``init_cfg``."""
        super().init_weights()
        for p in self.decoder_layers.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    # ------------------------------------------------------------------
    def forward(self, inputs: List[Tensor]) -> Dict:
        """Regions of every query.

        Args:
            inputs (list[Tensor]): multi-level backbone features
                (B, C_l, H_l, W_l).

        Returns:
            dict: ``pred_logits`` (B, Q, K+1), ``pred_masks`` (B, Q, h, w) at
            the finest selected level (1/4 for ResNet), ``mask_features``
            (B, mask_dim, h, w), ``seg_logits`` (B, K, h, w) (semantic
            inference of the last layer) and ``aux_outputs``: a list with a
            ``pred_logits``/``pred_masks`` dict per earlier decoder layer
            (training with deep supervision; empty otherwise).
        """
        feats = self._transform_inputs(inputs)
        mask_features = self.pixel_decoder(feats)
        src = self.input_proj(feats[self.transformer_in_index])
        pos = sine_position_encoding(src, src.shape[1] // 2)
        memory = src.flatten(2).transpose(1, 2)
        pos = pos.flatten(2).transpose(1, 2)
        query_pos = self.query_embed.weight[None]
        query = torch.zeros(
            src.shape[0], self.num_queries, src.shape[1],
            dtype=memory.dtype, device=memory.device)
        with_aux = self.training and self.deep_supervision
        layer_outputs = []
        for i, layer in enumerate(self.decoder_layers):
            query = layer(query, memory, pos, query_pos)
            if with_aux or i == len(self.decoder_layers) - 1:
                layer_outputs.append(
                    self._prediction(self.decoder_norm(query), mask_features))
        outputs = layer_outputs[-1]
        outputs.update(
            mask_features=mask_features,
            seg_logits=semantic_inference(outputs['pred_logits'],
                                          outputs['pred_masks']),
            aux_outputs=layer_outputs[:-1])
        return outputs

    def _prediction(self, query: Tensor,
                    mask_features: Tensor) -> Dict[str, Tensor]:
        mask_embed = self.mask_embed(query)
        return dict(
            pred_logits=self.cls_embed(query),
            pred_masks=torch.einsum('bqc,bchw->bqhw', mask_embed,
                                    mask_features))

    def predict(self, inputs: List[Tensor], batch_img_metas: List[dict],
                test_cfg: ConfigType) -> Tensor:
        """Semantic scores at the input resolution.

        The mask logits are upsampled to the (padded) input size before the
        sigmoid, as in MaskFormer's ``semantic_inference``.

        Returns:
            Tensor: (B, K, H, W) float32 class scores.
        """
        outputs = self.forward(inputs)
        meta = batch_img_metas[0]
        if isinstance(meta['img_shape'], torch.Size):
            size = meta['img_shape']
        elif 'pad_shape' in meta:
            size = meta['pad_shape'][:2]
        else:
            size = meta['img_shape']
        masks = F.interpolate(
            outputs['pred_masks'].float(),
            size=size,
            mode='bilinear',
            align_corners=self.align_corners)
        return semantic_inference(outputs['pred_logits'], masks)

    # ------------------------------------------------------------------
    def semantic_targets(self, seg: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Ground-truth segments of a label map: one per class present.

        Pixels labelled ``ignore_index`` (or outside [0, K)) belong to no
        segment, as in MaskFormer's semantic dataset mapper.

        Args:
            seg (Tensor): (B, H, W) long labels.

        Returns:
            tuple[Tensor, Tensor, Tensor]: labels (B, K) long (``arange``),
            masks (B, K, H, W) float and validity (B, K) bool (class
            present).
        """
        classes = torch.arange(self.num_classes, device=seg.device)
        masks = seg[:, None] == classes[None, :, None, None]
        valid = masks.flatten(2).any(-1)
        return (classes[None].expand(seg.shape[0], -1), masks.float(), valid)

    def loss_by_feat(self, seg_outputs: Dict,
                     batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """The supervised MaskFormer loss.

        Args:
            seg_outputs (dict): :meth:`forward`'s outputs.
            batch_data_samples (list[SegDataSample]): samples with
                ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_mask``, ``loss_dice`` of
            the last layer, the same with suffix ``_{i}`` for auxiliary
            layer ``i``, and ``acc_seg`` of the semantic inference.
        """
        seg = self._stack_batch_gt(batch_data_samples)[:, 0].long()
        labels, masks, valid = self.semantic_targets(seg)
        num_masks = reduce_num_masks(valid.sum())
        losses = self.loss_by_targets(seg_outputs['pred_logits'],
                                      seg_outputs['pred_masks'], labels,
                                      masks, valid, num_masks)
        for i, aux in enumerate(seg_outputs.get('aux_outputs', [])):
            aux_losses = self.loss_by_targets(aux['pred_logits'],
                                              aux['pred_masks'], labels,
                                              masks, valid, num_masks)
            losses.update({f'{k}_{i}': v for k, v in aux_losses.items()})
        seg_logits = F.interpolate(
            seg_outputs['seg_logits'].detach(),
            size=seg.shape[-2:],
            mode='bilinear',
            align_corners=self.align_corners)
        losses['acc_seg'] = accuracy(
            seg_logits, seg, ignore_index=self.ignore_index)
        return losses

    def loss_by_targets(self, cls_logits: Tensor, mask_logits: Tensor,
                        tgt_labels: Tensor, tgt_masks: Tensor,
                        tgt_valid: Tensor,
                        num_masks: Tensor) -> Dict[str, Tensor]:
        """Match one decoder layer's regions to targets and compute losses.

        Args:
            cls_logits (Tensor): (B, Q, K+1) class logits.
            mask_logits (Tensor): (B, Q, h, w) mask logits.
            tgt_labels (Tensor): (B, G) long target classes.
            tgt_masks (Tensor): (B, G, H, W) target masks.
            tgt_valid (Tensor): (B, G) bool, real targets.
            num_masks (Tensor): normaliser of the mask losses.

        Returns:
            dict[str, Tensor]: weighted ``loss_cls``, ``loss_mask`` and
            ``loss_dice``.
        """
        matched = self.matcher(cls_logits, mask_logits, tgt_labels,
                               tgt_masks, tgt_valid)
        is_matched = matched >= 0
        batch, num_queries = cls_logits.shape[:2]
        target_classes = torch.full((batch, num_queries + 1),
                                    self.num_classes,
                                    dtype=torch.long,
                                    device=cls_logits.device)
        target_classes.scatter_(
            1, torch.where(is_matched, matched, num_queries), tgt_labels)
        loss_cls = F.cross_entropy(
            cls_logits.float().transpose(1, 2),
            target_classes[:, :num_queries],
            weight=self.class_weight)

        h, w = mask_logits.shape[-2:]
        src = mask_logits.gather(
            1, matched.clamp(min=0)[..., None, None].expand(-1, -1, h, w))
        pred, tgt = self.sample_mask_points(src, tgt_masks)
        if self.mask_loss == 'focal':
            loss_mask = sigmoid_focal_loss(pred, tgt, num_masks, is_matched,
                                           self.focal_alpha, self.focal_gamma)
        else:
            loss_mask = sigmoid_ce_loss(pred, tgt, num_masks, is_matched)
        loss_dice = dice_loss(pred, tgt, num_masks, is_matched)
        return dict(
            loss_cls=self.loss_cls_weight * loss_cls,
            loss_mask=self.loss_mask_weight * loss_mask,
            loss_dice=self.loss_dice_weight * loss_dice)

    def sample_mask_points(self, mask_logits: Tensor,
                           tgt_masks: Tensor) -> Tuple[Tensor, Tensor]:
        """Matched predictions and targets at the loss points.

        Args:
            mask_logits (Tensor): (B, G, h, w) logits of the matched queries.
            tgt_masks (Tensor): (B, G, H, W) target masks.

        Returns:
            tuple[Tensor, Tensor]: (B, G, P) logits and targets; P = H * W
            when ``num_points`` is None.
        """
        if self.num_points is None:
            pred = F.interpolate(
                mask_logits.float(),
                size=tgt_masks.shape[-2:],
                mode='bilinear',
                align_corners=False)
            return pred.flatten(2), tgt_masks.flatten(2).float()
        batch, num = mask_logits.shape[:2]
        pred = mask_logits.flatten(0, 1)[:, None].float()
        with torch.no_grad():
            coords = uncertain_point_coords(pred, self.num_points,
                                            self.oversample_ratio,
                                            self.importance_sample_ratio)
        pred = point_sample(pred, coords, align_corners=False)
        tgt = point_sample(
            tgt_masks.flatten(0, 1)[:, None].float(),
            coords,
            align_corners=False)
        return (pred.view(batch, num, -1), tgt.view(batch, num, -1))
