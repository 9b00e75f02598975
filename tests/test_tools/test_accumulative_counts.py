"""optim_wrapper.accumulative_counts (small GPUs): a semi-supervised step
accumulates gradients and the weights change every k-th iteration only."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmseg_reco  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    REPO, 'configs/baselines/'
    'classmix_deeplabv3plus-r18-d8_1xb4-1k_fashion-canvas-60lab.py')


def test_semi_step_accumulates_over_two_iterations(tmp_path, require_data):
    require_data(osp.join(REPO, 'data/fashion_canvas'),
                 'demo data: bash tools/setup_env.sh')
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path)
    cfg.model.segmentor.backbone.init_cfg = None
    cfg.optim_wrapper.accumulative_counts = 2
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    runner = Runner.from_cfg(cfg)
    model = runner.model
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    optim_wrapper.initialize_count_status(model, 0, 10)
    loader = iter(runner.build_dataloader(cfg.train_dataloader))
    weight = model.student.decode_head.conv_seg.weight
    before = weight.detach().clone()
    model.train_step(next(loader), optim_wrapper)
    assert torch.equal(weight, before)  # gradient accumulated, no update
    assert weight.grad is not None and weight.grad.abs().sum() > 0
    model.train_step(next(loader), optim_wrapper)
    assert not torch.equal(weight, before)
