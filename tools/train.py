"""Train a segmentor with mmengine's Runner (mmseg's ``tools/train.py`` flags).

Example:
    python tools/train.py configs/reco/\
reco-classmix_deeplabv3plus-r18-d8-rep_1xb4-1k_fashion-canvas-60lab.py \
        --work-dir work_dirs/demo --amp
"""
import argparse
import logging
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner

import mmseg_reco  # noqa: F401  (registers components, checkpoint allow-list)
from mmseg_reco.utils import init_cpu_dist


def parse_args():
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        default=False,
        help='resume from the latest checkpoint in the work_dir automatically')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate linearly from the global batch the '
        "config was tuned for (its auto_scale_lr.base_batch_size) to this "
        'run\'s (GPUs x train_dataloader.batch_size)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def enable_amp(cfg):
    """Switch the optimiser wrapper(s) to mixed precision.

    fp16 ``AmpOptimWrapper`` with dynamic loss scaling on CUDA; on a
    machine without CUDA, ``AutocastOptimWrapper``: bfloat16 autocast, which
    needs no loss scaling (mmengine's ``AmpOptimWrapper`` refuses to start
    without a GPU). A dict of wrappers (``MultiOptimWrapperConstructor``,
    S4GAN) is switched wrapper by wrapper.
    """
    import torch
    optim_wrapper = cfg.optim_wrapper
    if 'type' in optim_wrapper:
        wrappers = [optim_wrapper]
    else:
        wrappers = [
            w for w in optim_wrapper.values()
            if isinstance(w, dict) and 'type' in w
        ]
    for wrapper in wrappers:
        if wrapper.type in ('AmpOptimWrapper', 'AutocastOptimWrapper'):
            print_log('AMP training is already enabled in your config.',
                      logger='current', level=logging.WARNING)
            continue
        assert wrapper.type == 'OptimWrapper', (
            '`--amp` is only supported when the optimizer wrapper type is '
            f'`OptimWrapper` but got {wrapper.type}.')
        if torch.cuda.is_available():
            wrapper.type = 'AmpOptimWrapper'
            wrapper.setdefault('loss_scale', 'dynamic')
        else:
            wrapper.type = 'AutocastOptimWrapper'
            wrapper.setdefault('dtype', 'bfloat16')


def enable_auto_scale_lr(cfg):
    """Turn on mmengine's linear learning-rate scaling.

    The Runner multiplies every learning rate by ``GPUs *
    train_dataloader.batch_size / auto_scale_lr.base_batch_size``; the
    configs of this project state the global batch they were tuned for.
    """
    asl = cfg.get('auto_scale_lr')
    if not asl or 'base_batch_size' not in asl:
        raise ValueError(
            '--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=N) in '
            'the config: the global batch its learning rate was tuned for')
    asl.enable = True


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    # work_dir priority: CLI > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    cfg.resume = args.resume

    init_cpu_dist(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
