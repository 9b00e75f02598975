"""20 iterations of every mean-teacher demo config run on the demo data."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = osp.join(REPO, 'data/fashion_canvas/splits/labelled-60.txt')
CONFIGS = [
    'configs/baselines/supervised_deeplabv3plus-r18-d8_1xb4-1k_'
    'fashion-canvas-60lab.py',
    'configs/baselines/cutout_deeplabv3plus-r18-d8_1xb4-1k_'
    'fashion-canvas-60lab.py',
    'configs/baselines/cutmix_deeplabv3plus-r18-d8_1xb4-1k_'
    'fashion-canvas-60lab.py',
    'configs/baselines/classmix_deeplabv3plus-r18-d8_1xb4-1k_'
    'fashion-canvas-60lab.py',
    'configs/reco/reco-classmix_deeplabv3plus-r18-d8-rep_1xb4-1k_'
    'fashion-canvas-60lab.py',
]
ITERS = 20

pytestmark = pytest.mark.needs_data(
    DATA, reason='demo data missing: run tools/setup_env.sh')


def small_cfg(path, work_dir):
    cfg = Config.fromfile(osp.join(REPO, path))
    cfg.work_dir = str(work_dir)
    cfg.data_root = osp.join(REPO, 'data/fashion_canvas')
    loader = cfg.train_dataloader
    loader.num_workers = 0
    loader.persistent_workers = False
    for sub in loader.dataset.datasets:
        sub.data_root = cfg.data_root
    # half the batch, keeping each config's labelled share
    share = loader.sampler.num_labelled / loader.sampler.batch_size
    loader.batch_size = loader.sampler.batch_size = 4
    loader.sampler.num_labelled = int(4 * share)
    cfg.train_cfg.max_iters = ITERS
    cfg.train_cfg.val_interval = ITERS + 1
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1)
    cfg.default_hooks.logger.interval = 5
    cfg.log_level = 'WARNING'
    return cfg


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.basename(p))
def test_twenty_iterations(path, tmp_path):
    runner = Runner.from_cfg(small_cfg(path, tmp_path))
    model = runner.model
    runner.train()
    logs = runner.message_hub.log_scalars
    keys = [k for k in logs if k.startswith('train/') and 'loss' in k]
    assert 'train/sup_decode.loss_ce' in keys
    for key in keys:
        assert torch.isfinite(torch.tensor(logs[key].current())), key
    is_semi = 'supervised' not in path
    assert any(k.startswith('train/unsup_') for k in keys) == is_semi
    # the mean-teacher configs keep an EMA teacher close to the student
    hooks = [type(h).__name__ for h in runner.hooks]
    assert ('MeanTeacherHook' in hooks) == is_semi
    if is_semi:
        gap = max((t - s).abs().max().item() for t, s in zip(
            model.teacher.parameters(), model.student.parameters()))
        assert 0 < gap < 1
