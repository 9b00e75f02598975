"""Degenerate batches give finite losses with the usual keys, every method.

- every labelled pixel ignored;
- one class only (the ReCo loss is 0 with a gradient path);
- no confident unlabelled pixel (a freshly initialised teacher: no
  pseudo-label passes the thresholds, no region is found).
"""
import copy

import pytest
import torch

from reliability_utils import METHOD_CONFIGS, model_and_batch, requires_demo

pytestmark = requires_demo

IGNORE = 255
ONE_CLASS = 3
#: the ReCo loss key of the two ReCo configs
RECO_KEYS = {
    'reco-sup': 'decode.loss_reco',
    'reco-classmix': 'unsup_loss_reco'
}


def labelled_samples(batch):
    return [s for s in batch['data_samples'] if 'gt_sem_seg' in s]


def step(model, batch):
    """Losses of one batch, and the gradients of their sum."""
    model.zero_grad(set_to_none=True)
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    total.backward()
    return losses


def assert_finite(losses, model):
    for key, value in losses.items():
        assert torch.isfinite(value).all(), (key, value)
    for name, param in model.named_parameters():
        if param.grad is not None:
            assert torch.isfinite(param.grad).all(), name


@pytest.mark.parametrize('name', list(METHOD_CONFIGS))
def test_every_labelled_pixel_ignored(name):
    model, batch = model_and_batch(name)
    reference = step(model, batch)
    bad = copy.deepcopy(batch)
    for sample in labelled_samples(bad):
        sample.gt_sem_seg.data.fill_(IGNORE)
    losses = step(model, bad)
    assert losses.keys() == reference.keys()
    assert_finite(losses, model)
    if name == 'reco-sup':
        assert losses[RECO_KEYS[name]] == 0


@pytest.mark.parametrize('name', list(METHOD_CONFIGS))
def test_one_class_only(name):
    model, batch = model_and_batch(name)
    reference = step(model, batch)
    bad = copy.deepcopy(batch)
    for sample in labelled_samples(bad):
        sample.gt_sem_seg.data.fill_(ONE_CLASS)
    if name == 'reco-classmix':
        # leave the unlabelled pixels out: one class in the whole batch
        # (labelled pixels have confidence 1)
        model.method_losses[0].weak_threshold = 1.0
    try:
        losses = step(model, bad)
    finally:
        if name == 'reco-classmix':
            model.method_losses[0].weak_threshold = 0.7
    assert losses.keys() == reference.keys()
    assert_finite(losses, model)
    if name in RECO_KEYS:
        key = RECO_KEYS[name]
        prefix = key.rsplit('loss_', 1)[0]
        assert losses[key] == 0
        assert losses[key].requires_grad  # a gradient path, of zeros
        assert losses[prefix + 'reco_num_classes'] == 1
        head = model.decode_head if name == 'reco-sup' else \
            model.student.decode_head
        grads = [p.grad for p in head.rep_branch.parameters()]
        assert all(g is not None for g in grads)


@pytest.mark.parametrize('name', ['reco-classmix', 'cmb', 'rc2l', 's4gan'])
def test_no_confident_unlabelled_pixel(name):
    # a randomly initialised teacher passes no confidence threshold
    model, batch = model_and_batch(name)
    losses = step(model, batch)
    ratio = {
        'reco-classmix': 'unsup_confident_ratio',
        'cmb': 'unsup_cmb_contr',
        'rc2l': 'unsup_num_regions',
        's4gan': 'unsup_st_ratio',
    }[name]
    assert losses[ratio] == 0
    assert_finite(losses, model)
