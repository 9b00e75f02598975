"""Seconds per training step: Supervised, ClassMix and ReCo + ClassMix.

Trains each demo config for ``--iters`` iterations on the same model size
and batch with mmengine's Runner and reads the IterTimerHook's figures:
``time`` (the whole step, data included) and ``data_time`` (waiting for the
data loader). Prints each method's seconds per step, its ratio to ClassMix,
the share of time spent waiting for data, and last the overhead that ReCo
adds to a ClassMix step (target: at most 15%).

    python benchmarks/semi_step.py [--iters 30] [--warmup 5] [--device cpu]
"""
import argparse
import os.path as osp
import tempfile

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
METHODS = {
    'Supervised':
    'configs/baselines/supervised_deeplabv3plus-r18-d8_1k_fashion-canvas-60.py',
    'ClassMix':
    'configs/baselines/classmix_deeplabv3plus-r18-d8_1k_fashion-canvas-60.py',
    'ReCo+ClassMix':
    'configs/reco/reco-classmix_deeplabv3plus-r18-d8-rep_1k_fashion-canvas-60.py',
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=30)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--num-workers', type=int, default=2)
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    return parser.parse_args()


def time_config(path: str, args, work_dir: str) -> dict:
    cfg = Config.fromfile(osp.join(REPO, path))
    cfg.work_dir = work_dir
    root = osp.join(REPO, 'data/fashion_canvas')
    loader = cfg.train_dataloader
    for sub in loader.dataset.datasets:
        sub.data_root = root
    share = loader.sampler.num_labelled / loader.sampler.batch_size
    loader.batch_size = loader.sampler.batch_size = args.batch_size
    loader.sampler.num_labelled = int(round(args.batch_size * share))
    loader.num_workers = args.num_workers
    loader.persistent_workers = args.num_workers > 0
    cfg.train_cfg.max_iters = args.iters
    cfg.train_cfg.val_interval = args.iters + 1
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1)
    cfg.default_hooks.logger.interval = args.iters
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    runner.train()
    hub = runner.message_hub
    step = np.asarray(hub.get_scalar('train/time').data[0])[args.warmup:]
    data = np.asarray(hub.get_scalar('train/data_time').data[0])[
        args.warmup:]
    return dict(step=float(step.mean()), data=float(data.mean()))


def main():
    args = parse_args()
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA device')
    device = (torch.cuda.get_device_name()
              if args.device == 'cuda' else f'cpu ({torch.get_num_threads()}'
              ' threads)')
    print(f'device: {device}; batch {args.batch_size} (64x64), '
          f'{args.iters} iterations, first {args.warmup} left out')
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in METHODS.items():
            results[name] = time_config(path, args, osp.join(tmp, name))
    base = results['ClassMix']['step']
    print(f'{"method":<15}{"s/step":>9}{"x ClassMix":>12}{"data wait":>11}')
    for name, res in results.items():
        print(f'{name:<15}{res["step"]:>9.3f}{res["step"] / base:>12.2f}'
              f'{100 * res["data"] / res["step"]:>10.1f}%')
    overhead = 100 * (results['ReCo+ClassMix']['step'] / base - 1)
    print(f'ReCo overhead over a ClassMix step: {overhead:.1f}%')


if __name__ == '__main__':
    main()
