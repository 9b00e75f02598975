"""Every config in configs/ loads, builds its model (on the meta device,
see conftest.py), its pipelines and its hooks."""
import copy
import glob
import os.path as osp

import pytest
from mmengine.dataset import Compose

from mmseg.registry import HOOKS

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

CONFIGS = sorted(
    p for p in glob.glob(
        osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p.split(osp.sep))


def _pipelines(dataset_cfg):
    """Yield every pipeline of a (possibly concatenated) dataset config."""
    if 'datasets' in dataset_cfg:
        for sub in dataset_cfg['datasets']:
            yield from _pipelines(sub)
    elif 'dataset' in dataset_cfg:
        yield from _pipelines(dataset_cfg['dataset'])
    else:
        yield dataset_cfg['pipeline']


def test_there_are_configs():
    assert len(CONFIGS) >= 6


def _param(path):
    return pytest.param(path, id=osp.relpath(path, REPO_ROOT))


@pytest.mark.parametrize('path', [_param(p) for p in CONFIGS])
def test_config_builds(path, config_loader, model_builder):
    name = osp.basename(path)[:-3]
    parts = name.split('_')
    assert len(parts) >= 4, f'{name}: expected method_model_schedule_data-split'
    cfg = config_loader(path)
    assert 'mmseg_reco' in cfg.custom_imports['imports']
    assert model_builder(cfg.model) > 0
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for pipeline in _pipelines(cfg[loader]['dataset']):
            assert len(Compose(pipeline).transforms) == len(pipeline)
    # (the visualization hook needs a Visualizer instance: left out)
    hooks = list(cfg.get('custom_hooks', [])) + [
        h for key, h in cfg.get('default_hooks', {}).items()
        if h is not None and key != 'visualization'
    ]
    for hook in hooks:
        assert HOOKS.build(copy.deepcopy(hook)) is not None
