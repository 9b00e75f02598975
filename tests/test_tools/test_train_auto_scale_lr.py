"""tools/train.py --auto-scale-lr: the Runner scales the learning rate from
the global batch the config states."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

import mmseg_reco  # noqa: F401
from repo_scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    REPO, 'configs/baselines/'
    'supervised_deeplabv3plus-r18-d8_1xb4-1k_fashion-canvas-60lab.py')


def _train_tool():
    return load_script('tools/train.py')


def test_auto_scale_lr_scales_from_the_configs_global_batch(tmp_path):
    cfg = Config.fromfile(CONFIG)
    base_lr = cfg.optim_wrapper.optimizer.lr
    assert cfg.auto_scale_lr.base_batch_size == 4
    cfg.auto_scale_lr.base_batch_size = 16  # tuned for 4x the batch
    _train_tool().enable_auto_scale_lr(cfg)
    cfg.work_dir = str(tmp_path)
    cfg.model.segmentor.backbone.init_cfg = None
    runner = Runner.from_cfg(cfg)
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    runner.scale_lr(optim_wrapper, runner.auto_scale_lr)
    lrs = [group['lr'] for group in optim_wrapper.param_groups]
    assert lrs and all(lr == pytest.approx(base_lr / 4) for lr in lrs)


def test_auto_scale_lr_needs_the_base_batch():
    cfg = Config(dict(optim_wrapper=dict(optimizer=dict(lr=0.1))))
    with pytest.raises(ValueError, match='base_batch_size'):
        _train_tool().enable_auto_scale_lr(cfg)
