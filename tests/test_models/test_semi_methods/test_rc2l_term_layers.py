"""RC2LTerm's region terms per decoder layer and its paper forms."""
import copy
import os

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.structures import PixelData

import mmseg_reco  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_reco.models.semi_methods.rc2l_term import RC2LTerm
from mmseg_reco.models.augmentation.semi_batch import SemiBatch
from mmseg_reco.testing.tiny_models import tiny_preprocessor, tiny_resnet

NUM_CLASSES = 4
NUM_QUERIES = 6
SIZE = 8
BIG = 20.0
SEGMENTOR = dict(
    type='EncoderDecoder',
    data_preprocessor=tiny_preprocessor(size_divisor=1),
    backbone=tiny_resnet(dilations=(1, 1, 1, 2), strides=(1, 2, 2, 1)),
    decode_head=dict(
        type='RegionHead',
        in_channels=[8, 16, 32, 64],
        channels=16,
        mask_dim=16,
        num_queries=NUM_QUERIES,
        transformer=dict(
            hidden_dim=16, num_heads=2, num_layers=3, ffn_channels=32),
        num_classes=NUM_CLASSES,
        norm_cfg=dict(type='GN', num_groups=4),
        matcher=dict(type='HungarianMatcher', num_points=None),
        point_sample=dict(num_points=None)),
    test_cfg=dict(mode='whole'))
PHOTOMETRIC = dict(
    type='StrongAugment', mix=None, scale_range=(1.0, 1.0), flip_prob=0.0)
PAPER = dict(rmc=dict(form='paper'), rfc=dict(form='paper'))


def build(**term):
    return MODELS.build(
        ConfigDict(
            type='SemiSegmentor',
            segmentor=copy.deepcopy(SEGMENTOR),
            strong_aug=PHOTOMETRIC,
            pseudo_loss=None,
            method_losses=[dict(type='RC2LTerm', **term)]))


def teacher_stripes(num_images=2):
    """Teacher outputs with confident stripe regions of classes 0, 2, 3 in
    queries 1, 3 and 4."""
    cls = torch.full((num_images, NUM_QUERIES, NUM_CLASSES + 1), -BIG)
    cls[..., NUM_CLASSES] = BIG
    masks = torch.full((num_images, NUM_QUERIES, SIZE, SIZE), -BIG)
    for q, cols, label in ((1, slice(0, 3), 0), (3, slice(3, 6), 2),
                           (4, slice(6, 8), 3)):
        cls[:, q] = -BIG
        cls[:, q, label] = BIG
        masks[:, q, :, cols] = BIG
    return dict(pred_logits=cls, pred_masks=masks)


def student_layers(num_images=3, num_layers=3, seed=0):
    """Student outputs of ``num_layers`` decoder layers: the teacher's
    stripes in random queries with noisy logits, one draw per layer."""
    gen = torch.Generator().manual_seed(seed)
    teacher = teacher_stripes(num_images)
    layers = []
    for _ in range(num_layers):
        order = torch.randperm(NUM_QUERIES, generator=gen)
        cls = teacher['pred_logits'][:, order] / 4 + torch.randn(
            num_images, NUM_QUERIES, NUM_CLASSES + 1, generator=gen)
        masks = teacher['pred_masks'][:, order] / 5 + 2 * torch.randn(
            num_images, NUM_QUERIES, SIZE, SIZE, generator=gen)
        layers.append(
            dict(
                pred_logits=cls.requires_grad_(),
                pred_masks=masks.requires_grad_()))
    features = torch.randn(
        num_images, 5, SIZE, SIZE, generator=gen).requires_grad_()
    outputs = dict(layers[-1], mask_features=features,
                   aux_outputs=layers[:-1])
    return outputs


def semi_batch(num_labelled=1, num_unlabelled=2):
    num = num_labelled + num_unlabelled
    labels = torch.zeros(num, 32, 32, dtype=torch.long)
    labels[:, :, 16:] = 2
    return SemiBatch(
        num_labelled=num_labelled,
        inputs=torch.zeros(num, 3, 32, 32),
        labels=labels,
        confidence=torch.ones(num, 32, 32),
        data_samples=[],
        teacher_outputs=teacher_stripes(num_unlabelled))


def run(term, model, outputs, batch):
    """The term on the segmentor's context."""
    return term(model.method_context(outputs, batch))


def single_layer(outputs, layer):
    """The outputs of one decoder layer as a last layer without aux."""
    source = outputs if layer is None else outputs['aux_outputs'][layer]
    return dict(
        pred_logits=source['pred_logits'],
        pred_masks=source['pred_masks'],
        mask_features=outputs['mask_features'])


@pytest.mark.parametrize('forms', [{}, PAPER])
def test_deep_supervision_equals_the_sum_of_single_layer_calls(forms):
    model = build()
    outputs = student_layers()
    batch = semi_batch()
    common = dict(use_rampup=False, log=dict(class_regions=False), **forms)
    deep = run(
        RC2LTerm(deep_supervision=True, **common), model, outputs, batch)
    single = RC2LTerm(**common)
    layers = [None, 0, 1]
    calls = [
        run(single, model, single_layer(outputs, i), batch) for i in layers
    ]
    losses = [k for k in deep if 'loss' in k]
    assert sorted(losses) == sorted(
        name + suffix for name in RC2LTerm.LOSS_NAMES
        for suffix in ('', '_0', '_1'))
    for layer, call in zip(layers, calls):
        suffix = '' if layer is None else f'_{layer}'
        for name in RC2LTerm.LOSS_NAMES:
            assert torch.allclose(deep[name + suffix], call[name]), (name,
                                                                     layer)
    # the layers differ: the auxiliary terms are not copies of the last
    assert not torch.allclose(deep['loss_smc_0'], deep['loss_smc'])
    # the statistics are the last layer's
    for key in ('rmc', 'rfc', 'rcc', 'smc', 'num_contrast_regions'):
        assert torch.equal(deep[key], calls[0][key]), key
    # and so is the gradient of the sum
    total = sum(deep[k] for k in losses)
    reference = sum(call[k] for call in calls for k in RC2LTerm.LOSS_NAMES)
    assert torch.allclose(total, reference)
    tensors = [outputs['mask_features'], outputs['pred_masks'],
               outputs['aux_outputs'][0]['pred_masks'],
               outputs['aux_outputs'][1]['pred_logits']]
    got = torch.autograd.grad(total, tensors, retain_graph=True)
    want = torch.autograd.grad(reference, tensors)
    for g, w in zip(got, want):
        assert g.abs().sum() > 0
        assert torch.allclose(g, w, atol=1e-6)


def test_without_deep_supervision_the_auxiliary_layers_are_left_alone():
    model = build()
    outputs = student_layers()
    batch = semi_batch()
    losses = run(RC2LTerm(use_rampup=False), model, outputs, batch)
    assert sorted(k for k in losses
                  if 'loss' in k) == sorted(RC2LTerm.LOSS_NAMES)
    last = run(
        RC2LTerm(use_rampup=False), model, single_layer(outputs, None), batch)
    for name in RC2LTerm.LOSS_NAMES:
        assert torch.equal(losses[name], last[name])
    total = sum(losses[k] for k in RC2LTerm.LOSS_NAMES)
    grads = torch.autograd.grad(
        total, [a['pred_masks'] for a in outputs['aux_outputs']],
        allow_unused=True)
    assert all(g is None for g in grads)


def test_grad_norms_sum_each_term_over_the_layers():
    model = build()
    outputs = student_layers()
    batch = semi_batch()
    common = dict(use_rampup=False, log=dict(grad_norms=True))
    last = run(RC2LTerm(**common), model, outputs, batch)
    deep = run(
        RC2LTerm(deep_supervision=True, **common), model, outputs, batch)
    # the auxiliary layers add their own gradient to each term's norm
    for name in ('rmc', 'rcc', 'smc'):
        assert deep[f'grad_norm_{name}'] > last[f'grad_norm_{name}'], name


def test_paper_rfc_sends_no_gradient_to_the_student_masks():
    model = build()
    outputs = student_layers()
    batch = semi_batch()
    for forms, zero in ((PAPER, True), ({}, False)):
        losses = run(
            RC2LTerm(use_rampup=False, **forms), model, outputs, batch)
        grad_masks, grad_feats = torch.autograd.grad(
            losses['loss_rfc'],
            (outputs['pred_masks'], outputs['mask_features']),
            allow_unused=True,
            materialize_grads=True)
        assert grad_feats.abs().sum() > 0
        assert (grad_masks.abs().sum() == 0) == zero
        assert losses['num_contrast_regions'] > 0


def test_paper_rfc_counts_only_regions_with_a_binary_mask():
    model = build()
    outputs = student_layers()
    batch = semi_batch()
    term = RC2LTerm(use_rampup=False, **PAPER)
    full = run(term, model, outputs, batch)
    assert full['num_contrast_regions'] == 3
    # empty every binary mask of image 1's queries: its regions leave RFC
    # (and its count) but stay in RMC
    emptied = dict(outputs)
    masks = outputs['pred_masks'].detach().clone()
    masks[2] = -BIG
    emptied['pred_masks'] = masks
    guarded = run(term, model, emptied, batch)
    assert guarded['num_contrast_regions'] == 1.5
    assert torch.isfinite(guarded['loss_rfc'])
    assert torch.isfinite(guarded['loss_rmc']) and guarded['loss_rmc'] != 0


def test_semi_segmentor_step_with_paper_forms_on_every_layer():
    torch.manual_seed(0)
    model = build(deep_supervision=True, **PAPER)
    model.train()
    inputs, samples = [], []
    for i in range(4):
        inputs.append(torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8))
        sample = SegDataSample()
        sample.set_metainfo(dict(img_shape=(32, 32), ori_shape=(32, 32)))
        if i < 2:
            sample.gt_sem_seg = PixelData(
                data=torch.randint(0, NUM_CLASSES, (1, 32, 32)))
        samples.append(sample)
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=samples),
                                   True)
    losses = model(**data, mode='loss')
    for name in RC2LTerm.LOSS_NAMES:
        for suffix in ('', '_0', '_1'):
            assert f'unsup_{name}{suffix}' in losses, name + suffix
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    assert model.student.decode_head.query_embed.weight.grad is not None


def test_rc2l_method_base_keeps_the_defaults_and_takes_the_paper_forms(
        repo_root):
    cfg = Config.fromfile(
        os.path.join(repo_root, 'configs/_base_/methods/rc2l.py'))
    term = cfg.semi_model.method_losses[0]
    assert term.rmc.form == 'infonce' and term.rfc.form == 'bounded'
    assert term.deep_supervision is False
    built = MODELS.build(dict(term, deep_supervision=True, **PAPER))
    assert built.deep_supervision and built.rfc_form == 'paper'
    with pytest.raises(ValueError, match=r"rfc\['form'\]"):
        RC2LTerm(rfc=dict(form='cosine'))
