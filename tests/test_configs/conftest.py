"""Config loading and model building shared by the config tests.

Every leaf config is read by several tests (names, builds, README
commands); ``Config.fromfile`` runs once per file and each test gets its
own deep copy. Models are built once per distinct model config, on the
``meta`` device: every constructor runs with the config's arguments (an
unknown key, a wrong type or an unregistered name still fails), but no
weights are allocated or initialised. A module whose constructor reads a
tensor's value (``Tensor.item()``, e.g. stochastic depth rates) is built
on the CPU instead.
"""
import copy

import pytest
import torch
from mmengine.config import Config

from mmseg.registry import MODELS

_CONFIGS = {}
_MODELS = {}


def load_config(path: str) -> Config:
    """A deep copy of ``Config.fromfile(path)``, read once per session."""
    if path not in _CONFIGS:
        _CONFIGS[path] = Config.fromfile(path)
    return copy.deepcopy(_CONFIGS[path])


def build_model_once(model_cfg) -> int:
    """Build a model config (once per distinct config); its parameter count.

    Leaves that differ only in their data share one build.
    """
    key = repr(model_cfg.to_dict())
    if key not in _MODELS:
        try:
            with torch.device('meta'):
                model = MODELS.build(copy.deepcopy(model_cfg))
        except (RuntimeError, NotImplementedError) as error:
            if 'meta' not in str(error):
                raise
            model = MODELS.build(copy.deepcopy(model_cfg))
        _MODELS[key] = sum(p.numel() for p in model.parameters())
    return _MODELS[key]


@pytest.fixture(scope='session')
def config_loader():
    """:func:`load_config`."""
    return load_config


@pytest.fixture(scope='session')
def model_builder():
    """:func:`build_model_once`."""
    return build_model_once
