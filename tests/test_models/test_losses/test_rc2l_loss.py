import copy

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import PixelData

import mmseg_reco  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_reco.models.decode_heads.region_head import RegionHead  # noqa: F401
from mmseg_reco.models.losses.rc2l_loss import RC2LLoss
from mmseg_reco.models.utils.semi_batch import SemiBatch
from mmseg_reco.testing.tiny_models import tiny_preprocessor, tiny_resnet

NUM_CLASSES = 4
SEGMENTOR = dict(
    type='EncoderDecoder',
    data_preprocessor=tiny_preprocessor(size_divisor=1),
    backbone=tiny_resnet(dilations=(1, 1, 1, 2), strides=(1, 2, 2, 1)),
    decode_head=dict(
        type='RegionHead',
        in_channels=[8, 16, 32, 64],
        channels=16,
        mask_dim=16,
        hidden_dim=16,
        num_queries=6,
        num_heads=2,
        num_layers=2,
        ffn_channels=32,
        num_classes=NUM_CLASSES,
        norm_cfg=dict(type='GN', num_groups=4),
        matcher=dict(type='HungarianMatcher', num_points=None),
        num_points=None),
    test_cfg=dict(mode='whole'))
PHOTOMETRIC = dict(
    type='StrongAugment', mix=None, scale_range=(1.0, 1.0), flip_prob=0.0)
BIG = 20.0


def build(**kwargs):
    cfg = dict(
        type='SemiSegmentor',
        segmentor=copy.deepcopy(SEGMENTOR),
        strong_aug=PHOTOMETRIC,
        pseudo_loss=None,
        method_losses=[dict(type='RC2LLoss')])
    cfg.update(kwargs)
    return MODELS.build(ConfigDict(cfg))


def batch(num_labelled=2, num_unlabelled=2, size=32):
    inputs, samples = [], []
    for i in range(num_labelled + num_unlabelled):
        inputs.append(
            torch.randint(0, 256, (3, size, size), dtype=torch.uint8))
        sample = SegDataSample()
        sample.set_metainfo(dict(img_shape=(size, size), ori_shape=(size,
                                                                    size)))
        if i < num_labelled:
            label = torch.randint(0, NUM_CLASSES, (1, size, size))
            sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def regions(num_images=2, num_queries=6, size=8, roll=0):
    """Head outputs with confident stripe regions in queries 1, 3 and 4."""
    cls = torch.full((num_images, num_queries, NUM_CLASSES + 1), -BIG)
    cls[..., NUM_CLASSES] = BIG
    masks = torch.full((num_images, num_queries, size, size), -BIG)
    for q, cols, label in ((1, slice(0, 3), 0), (3, slice(3, 6), 2),
                           (4, slice(6, 8), 3)):
        cls[:, q] = -BIG
        cls[:, q, label] = BIG
        masks[:, q, :, cols] = BIG
    masks = masks.roll(roll, dims=-1)
    return dict(
        pred_logits=cls,
        pred_masks=masks,
        mask_features=masks[:, :4].sigmoid() + 0.01 *
        torch.randn(num_images, 4, size, size))


def semi_batch(teacher, num_labelled=1):
    num = num_labelled + teacher['pred_masks'].shape[0]
    return SemiBatch(
        num_labelled=num_labelled,
        inputs=torch.zeros(num, 3, 32, 32),
        labels=torch.zeros(num, 32, 32, dtype=torch.long),
        confidence=torch.ones(num, 32, 32),
        data_samples=[],
        teacher_outputs=teacher)


def student_outputs(unlabelled, num_labelled=1):
    junk = regions(num_labelled, roll=1)
    out = {k: torch.cat([junk[k], unlabelled[k]]) for k in unlabelled}
    for v in out.values():
        v.requires_grad_()
    return out


def test_semi_segmentor_step_has_region_losses_and_trains_student_only():
    torch.manual_seed(0)
    model = build()
    model.train()
    data = model.data_preprocessor(batch(), True)
    losses = model(**data, mode='loss')
    for key in ('unsup_loss_rmc', 'unsup_loss_rfc', 'unsup_loss_rcc',
                'unsup_loss_smc', 'unsup_num_regions', 'sup_decode.loss_cls',
                'sup_decode.loss_mask', 'sup_decode.loss_dice'):
        assert key in losses, key
    assert not any(k.startswith('unsup_loss_pseudo') for k in losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert model.student.decode_head.query_embed.weight.grad is not None


def test_identical_regions_give_lower_losses_than_mismatched_ones():
    torch.manual_seed(0)
    model = build()
    term = RC2LLoss()
    teacher = regions()
    good = term(model, student_outputs(regions()), semi_batch(teacher))
    bad = term(model, student_outputs(regions(roll=3)), semi_batch(teacher))
    assert good['num_regions'] == 3
    for key in RC2LLoss.LOSS_NAMES:
        assert torch.isfinite(good[key]) and torch.isfinite(bad[key])
        assert good[key] < bad[key], key
    assert good['loss_rcc'] < 1e-6
    assert good['loss_smc'] < 0.2


def test_gradients_reach_student_queries_masks_and_features():
    model = build()
    outputs = student_outputs(regions(roll=1))
    losses = RC2LLoss()(model, outputs, semi_batch(regions()))
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    for key in ('pred_logits', 'pred_masks', 'mask_features'):
        grad = outputs[key].grad
        assert torch.isfinite(grad).all()
        assert grad[1:].abs().sum() > 0, key
        assert grad[:1].abs().sum() == 0, key  # labelled part untouched


def test_weights_and_no_confident_teacher_region():
    model = build()
    outputs, teacher = student_outputs(regions(roll=1)), regions()
    base = RC2LLoss()(model, outputs, semi_batch(teacher))
    scaled = RC2LLoss(
        alpha=2.0, betas=(1, 1, 1, 1))(model, outputs, semi_batch(teacher))
    for key, beta in zip(RC2LLoss.LOSS_NAMES, (1, 20, 4, 4)):
        assert torch.allclose(scaled[key] * beta, base[key] * 2)
    unsure = dict(teacher, pred_logits=torch.zeros_like(
        teacher['pred_logits']))
    none = RC2LLoss()(model, outputs, semi_batch(unsure))
    assert none['num_regions'] == 0
    assert all(none[k] == 0 for k in RC2LLoss.LOSS_NAMES)


def test_rejects_views_that_move_pixels_and_misaligned_masks():
    term = RC2LLoss()
    outputs, teacher = student_outputs(regions()), regions()
    for aug in (dict(type='StrongAugment', mix='cutmix', flip_prob=0.0),
                dict(PHOTOMETRIC, flip_prob=0.5),
                dict(PHOTOMETRIC, scale_range=(0.5, 1.5))):
        with pytest.raises(ValueError, match='photometric'):
            term(build(strong_aug=aug), outputs, semi_batch(teacher))
    small = regions(size=4)
    with pytest.raises(ValueError, match='pixel-aligned'):
        term(build(), outputs, semi_batch(small))
    with pytest.raises(TypeError):
        term(build(), outputs['pred_masks'], semi_batch(teacher))
