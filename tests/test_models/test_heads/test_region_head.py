import copy

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import PixelData

import mmseg_reco  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_reco.models.decode_heads.region_head import (
    RegionHead, semantic_inference, sine_position_encoding)
from mmseg_reco.testing.tiny_models import tiny_preprocessor, tiny_resnet
from module_checks import assert_same_module

NUM_CLASSES = 4
IN_CHANNELS = [8, 16, 32, 64]
HEAD = dict(
    type='RegionHead',
    in_channels=IN_CHANNELS,
    channels=16,
    mask_dim=16,
    num_queries=6,
    transformer=dict(
        hidden_dim=16, num_heads=2, num_layers=2, ffn_channels=32),
    num_classes=NUM_CLASSES,
    norm_cfg=dict(type='GN', num_groups=4),
    matcher=dict(type='HungarianMatcher', num_points=None),
    point_sample=dict(num_points=None))


def build_head(**kwargs):
    cfg = copy.deepcopy(HEAD)
    cfg.update(kwargs)
    head = MODELS.build(ConfigDict(cfg))
    head.init_weights()
    return head


def features(batch=2, size=32, seed=0, requires_grad=False):
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(batch, c, size // 2**(i + 2), size // 2**(i + 2),
                    generator=g).requires_grad_(requires_grad)
        for i, c in enumerate(IN_CHANNELS)
    ]


def samples(batch=2, size=32, seed=0, ignore_border=True):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(batch):
        label = torch.zeros(1, size, size, dtype=torch.long)
        y, x = torch.randint(0, size // 2, (2, ), generator=g).tolist()
        label[:, y:y + size // 2, x:x + size // 2] = torch.randint(
            1, NUM_CLASSES, (1, ), generator=g)
        if ignore_border:
            label[:, :, :2] = 255
        sample = SegDataSample()
        sample.set_metainfo(dict(img_shape=(size, size), ori_shape=(size,
                                                                    size)))
        sample.gt_sem_seg = PixelData(data=label)
        out.append(sample)
    return out


def test_forward_shapes_in_train_and_eval():
    head = build_head()
    head.train()
    out = head(features())
    assert out['pred_logits'].shape == (2, 6, NUM_CLASSES + 1)
    assert out['pred_masks'].shape == (2, 6, 8, 8)  # 1/4 of 32
    assert out['mask_features'].shape == (2, 16, 8, 8)
    assert out['seg_logits'].shape == (2, NUM_CLASSES, 8, 8)
    assert len(out['aux_outputs']) == 1  # num_layers - 1
    assert out['aux_outputs'][0]['pred_masks'].shape == (2, 6, 8, 8)
    head.eval()
    out = head(features())
    assert out['aux_outputs'] == []
    assert out['pred_masks'].shape == (2, 6, 8, 8)
    assert not hasattr(head, 'conv_seg')


def test_semantic_inference_and_position_encoding():
    cls = torch.full((1, 2, 3), -10.)
    cls[0, 0, 1] = 10.  # query 0: class 1
    cls[0, 1, 0] = 10.  # query 1: class 0
    masks = torch.full((1, 2, 4, 4), -10.)
    masks[0, 0, :, :2] = 10.
    masks[0, 1, :, 2:] = 10.
    seg = semantic_inference(cls, masks)
    assert seg.shape == (1, 2, 4, 4)
    assert (seg.argmax(1)[0, :, :2] == 1).all()
    assert (seg.argmax(1)[0, :, 2:] == 0).all()
    pos = sine_position_encoding(torch.zeros(2, 8, 3, 5), 4)
    assert pos.shape == (1, 8, 3, 5)
    assert pos.abs().max() <= 1
    # distinct positions get distinct encodings
    flat = pos[0].flatten(1).t()
    assert torch.cdist(flat, flat).add(torch.eye(15)).min() > 1e-3


def test_semantic_targets_skip_ignored_pixels():
    head = build_head()
    seg = torch.tensor([[[0, 0, 2], [2, 255, 255]]])
    labels, masks, valid = head.semantic_targets(seg)
    assert labels.tolist() == [[0, 1, 2, 3]]
    assert valid.tolist() == [[True, False, True, False]]
    assert masks.shape == (1, NUM_CLASSES, 2, 3)
    assert masks[0, :, 1, 1:].sum() == 0
    assert masks[0, 2].tolist() == [[0, 0, 1], [1, 0, 0]]


@pytest.mark.parametrize('num_points,mask_loss', [(None, 'focal'),
                                                  (64, 'focal'),
                                                  (64, 'bce')])
def test_loss_keys_and_gradients(num_points, mask_loss):
    torch.manual_seed(0)
    head = build_head(
        point_sample=dict(num_points=num_points),
        mask_loss=dict(form=mask_loss),
        matcher=dict(type='HungarianMatcher', num_points=num_points))
    head.train()
    feats = features(requires_grad=True)
    losses = head.loss(feats, samples(), None)
    expected = {'loss_cls', 'loss_mask', 'loss_dice', 'loss_cls_0',
                'loss_mask_0', 'loss_dice_0', 'acc_seg'}
    assert set(losses) == expected
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    for name in ('query_embed.weight', 'cls_embed.weight',
                 'mask_embed.4.weight', 'pixel_decoder.mask_features.weight',
                 'decoder_layers.0.cross_attn.in_proj_weight'):
        grad = dict(head.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in feats)


def test_no_object_weight_and_loss_weights():
    head = build_head(eos_coef=0.25, loss_weights=dict(dice=0.0))
    assert head.class_weight.tolist() == [1, 1, 1, 1, 0.25]
    head.train()
    losses = head.loss(features(), samples(), None)
    assert losses['loss_dice'] == 0


def informative_features(data, noise=0.1):
    """Backbone-like features that encode the labels (one-hot, pooled)."""
    seg = torch.stack([s.gt_sem_seg.data[0] for s in data])
    onehot = torch.nn.functional.one_hot(
        seg.clamp(max=NUM_CLASSES), NUM_CLASSES + 1).permute(0, 3, 1,
                                                             2).float()
    feats = []
    for i, c in enumerate(IN_CHANNELS):
        pooled = torch.nn.functional.avg_pool2d(onehot, 2**(i + 2))
        tiled = pooled.repeat(1, c // (NUM_CLASSES + 1) + 1, 1, 1)[:, :c]
        feats.append(tiled + noise * torch.randn_like(tiled))
    return feats


def test_supervised_training_lowers_the_loss():
    torch.manual_seed(0)
    # the queries attend to 4x4 tokens: with a single token every query
    # would receive the same cross-attention output
    head = build_head(
        transformer=dict(HEAD['transformer'], dropout=0.0, in_index=1))
    head.train()
    data = samples(seed=1)
    feats = informative_features(data)
    optim = torch.optim.AdamW(head.parameters(), lr=3e-3)
    history = []
    for _ in range(60):
        losses = head.loss(feats, data, None)
        total = sum(v for k, v in losses.items() if 'loss' in k)
        optim.zero_grad()
        total.backward()
        optim.step()
        history.append(total.item())
    assert sum(history[-5:]) / 5 < 0.3 * sum(history[:5]) / 5


def test_predict_through_encoder_decoder():
    torch.manual_seed(0)
    model = MODELS.build(
        ConfigDict(
            type='EncoderDecoder',
            data_preprocessor=tiny_preprocessor(size_divisor=1),
            backbone=tiny_resnet(dilations=None, strides=None),
            decode_head=copy.deepcopy(HEAD),
            test_cfg=dict(mode='whole')))
    model.init_weights()
    inputs = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)] * 2
    data = model.data_preprocessor(
        dict(inputs=inputs, data_samples=samples()), True)
    model.train()
    losses = model(**data, mode='loss')
    assert {'decode.loss_cls', 'decode.loss_mask', 'decode.loss_dice',
            'decode.acc_seg'} <= set(losses)
    model.eval()
    with torch.no_grad():
        logits = model(data['inputs'], data['data_samples'], mode='tensor')
        results = model.predict(data['inputs'], data['data_samples'])
    assert isinstance(logits, dict) and 'seg_logits' in logits
    assert len(results) == 2
    pred = results[0].pred_sem_seg.data
    assert pred.shape == (1, 32, 32)
    assert pred.min() >= 0 and pred.max() < NUM_CLASSES
    assert results[0].seg_logits.data.shape == (NUM_CLASSES, 32, 32)
    head_logits = model.decode_head.predict(
        model.extract_feat(data['inputs']),
        [s.metainfo for s in data['data_samples']], model.test_cfg)
    assert head_logits.shape == (2, NUM_CLASSES, 32, 32)


def test_grouped_arguments_default_to_the_flat_defaults():
    """The dict arguments' defaults are the values the head always had."""
    head = MODELS.build(
        dict(type='RegionHead', in_channels=IN_CHANNELS, num_classes=3))
    assert head.query_embed.weight.shape == (50, 256)  # hidden_dim 256
    assert len(head.decoder_layers) == 6
    layer = head.decoder_layers[0]
    assert (layer.self_attn.num_heads, layer.ffn[0].out_features,
            layer.dropouts[0].p) == (8, 2048, 0.1)
    assert head.transformer_in_index == -1
    assert (head.loss_cls_weight, head.loss_mask_weight,
            head.loss_dice_weight, head.eos_coef) == (1.0, 20.0, 1.0, 0.1)
    assert (head.mask_loss, head.focal_alpha, head.focal_gamma) == ('focal',
                                                                   0.25, 2.0)
    assert (head.num_points, head.oversample_ratio,
            head.importance_sample_ratio) == (12544, 3.0, 0.75)
    # one key set: the others keep their defaults
    head = build_head(
        transformer=dict(num_layers=1), loss_weights=dict(mask=5.0))
    assert len(head.decoder_layers) == 1
    assert head.query_embed.weight.shape == (6, 256)
    assert (head.loss_cls_weight, head.loss_mask_weight) == (1.0, 5.0)


@pytest.mark.parametrize(
    'name', ['transformer', 'loss_weights', 'mask_loss', 'point_sample'])
def test_unknown_key_of_a_grouped_argument_raises(name):
    with pytest.raises(ValueError) as error:
        build_head(**{name: dict(num_point=64)})
    message = str(error.value)
    assert f'RegionHead({name}=...)' in message and 'num_point' in message
    assert str(sorted(RegionHead.GROUP_DEFAULTS[name])) in message


def test_invalid_arguments():
    with pytest.raises(AssertionError):
        build_head(mask_loss=dict(form='l1'))
    with pytest.raises(AssertionError):
        build_head(in_index=[0, 1])
    assert isinstance(build_head(), RegionHead)


#: the head before the grouping: every flat argument, none at its default
FLAT_HEAD = dict(
    {k: v
     for k, v in HEAD.items() if k not in ('transformer', 'point_sample')},
    hidden_dim=16, num_heads=2, num_layers=2, ffn_channels=32,
    transformer_dropout=0.0, transformer_in_index=-2, loss_cls_weight=2.0,
    loss_mask_weight=5.0, loss_dice_weight=3.0, mask_loss='bce',
    focal_alpha=0.5, focal_gamma=1.5, num_points=64, oversample_ratio=2.0,
    importance_sample_ratio=0.5)
GROUPED_HEAD = dict(
    {k: v
     for k, v in HEAD.items() if k not in ('transformer', 'point_sample')},
    transformer=dict(hidden_dim=16, num_heads=2, num_layers=2,
                     ffn_channels=32, dropout=0.0, in_index=-2),
    loss_weights=dict(cls=2.0, mask=5.0, dice=3.0),
    mask_loss=dict(form='bce', focal_alpha=0.5, focal_gamma=1.5),
    point_sample=dict(num_points=64, oversample_ratio=2.0,
                      importance_sample_ratio=0.5))


def test_flat_keys_of_before_the_grouping_build_the_grouped_head():
    """A config saved before the grouping builds the same head, with one
    DeprecationWarning per flat key naming its new place (``mask_loss`` as
    a str becomes ``mask_loss=dict(form=...)``)."""
    torch.manual_seed(0)
    with pytest.warns(DeprecationWarning) as record:
        old = MODELS.build(ConfigDict(copy.deepcopy(FLAT_HEAD)))
    torch.manual_seed(0)
    new = MODELS.build(ConfigDict(copy.deepcopy(GROUPED_HEAD)))
    assert_same_module(old, new)
    assert isinstance(old.input_proj, torch.nn.Conv2d)  # in_index -2: 32
    assert (old.transformer_in_index, old.mask_loss, old.loss_mask_weight,
            old.num_points) == (-2, 'bce', 5.0, 64)
    messages = [str(w.message) for w in record
                if issubclass(w.category, DeprecationWarning)]
    assert len(messages) == len(FLAT_HEAD) - len(GROUPED_HEAD) + 4
    assert ("RegionHead: `mask_loss='bce'` is deprecated, use "
            "`mask_loss=dict(form='bce')`" in messages)
    assert ('RegionHead: `transformer_dropout=0.0` is deprecated, use '
            '`transformer=dict(dropout=0.0)`' in messages)


def test_flat_key_and_its_grouped_key_together_raise():
    with pytest.raises(TypeError) as error:
        build_head(num_points=64)  # HEAD sets point_sample=dict(num_points=)
    assert '`num_points`' in str(error.value)
    assert '`point_sample=dict(num_points=...)`' in str(error.value)
    with pytest.raises(TypeError, match='`focal_gamma`'):
        build_head(focal_gamma=1.0, mask_loss=dict(focal_gamma=2.0))
    # other keys of the group are merged
    with pytest.warns(DeprecationWarning, match='transformer_dropout'):
        head = build_head(transformer_dropout=0.0)
    assert head.decoder_layers[0].dropouts[0].p == 0.0
    assert head.query_embed.weight.shape == (6, 16)
    assert len(head.decoder_layers) == 2


def test_unknown_flat_key_raises_type_error():
    """Only the old names are taken: a typo still fails in BaseDecodeHead."""
    with pytest.raises(TypeError,
                       match="unexpected keyword argument 'hiden_dim'"):
        build_head(hiden_dim=16)


def test_loss_under_bfloat16_autocast_is_float32():
    torch.manual_seed(0)
    head = build_head()
    head.train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        outputs = head(features())
        losses = head.loss_by_feat(outputs, samples())
    assert outputs['seg_logits'].dtype == torch.float32
    for key, value in losses.items():
        assert value.dtype == torch.float32 and torch.isfinite(value), key
    sum(v for k, v in losses.items() if 'loss' in k).backward()
