"""A misspelt key in a method's settings is an error naming the key."""
import copy

import pytest
from mmengine.config import Config

from mmseg.registry import HOOKS, MODELS, TASK_UTILS
from reliability_utils import method_config


def cfg_of(name):
    return Config.fromfile(method_config(name))


def build_raises(registry, cfg, key):
    with pytest.raises((TypeError, KeyError, ValueError)) as info:
        registry.build(cfg)
    assert key in str(info.value)


@pytest.mark.parametrize('name, path, key', [
    ('reco-sup', ('decode_head', 'loss_rep'), 'num_querys'),
    ('reco-classmix', ('method_losses', 0), 'weak_treshold'),
    ('reco-classmix', ('method_losses', 0, 'loss'), 'temprature'),
    ('cmb', ('method_losses', 0), 'bank_sise'),
    ('rc2l', ('method_losses', 0), 'tau_mm'),
    ('s4gan', ('discriminator', ), 'base_chanels'),
])
def test_method_loss_key_typo(name, path, key):
    cfg = cfg_of(name).model
    for part in path:
        cfg = cfg[part]
    cfg = copy.deepcopy(cfg)
    cfg[key] = 1
    build_raises(MODELS, cfg, key)


def test_matcher_key_typo():
    matcher = copy.deepcopy(cfg_of('rc2l').model.method_losses[0].matcher)
    matcher['cost_dise'] = 1
    build_raises(TASK_UTILS, matcher, 'cost_dise')


@pytest.mark.parametrize('name, key', [
    ('reco-classmix', 'unsup_wieght'),
    ('s4gan', 'lambda_fn'),
])
def test_semi_train_cfg_key_typo(name, key):
    model = cfg_of(name).model
    model.semi_train_cfg[key] = 1
    build_raises(MODELS, model, key)


@pytest.mark.parametrize('name', ['reco-classmix', 'cmb', 'rc2l', 's4gan'])
def test_hook_key_typo(name):
    hook = copy.deepcopy(cfg_of(name).custom_hooks[0])
    hook['max_momentun'] = 0.9
    build_raises(HOOKS, hook, 'max_momentun')
