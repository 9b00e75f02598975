"""Soak test: memory growth and time drift of a long ReCo + ClassMix run.

Trains the ReCo + ClassMix demo config in this process with mmengine's
Runner at a tiny size (``--crop`` pixel crops, ``--batch-size`` images of
which half are labelled, no data-loader workers, no validation, no
checkpoints) for ``--iters`` iterations. A hook samples the process's
resident memory (``VmRSS`` of ``/proc/self/status``) every ``--interval``
iterations and times every iteration. Prints the memory after the warm-up
and at the end, the growth against ``--max-growth-mib``, and the time
drift: the mean seconds per iteration of the last 10% of the measured
iterations against the first 10% (after the warm-up). The last line is the
memory growth in percent. Exits with status 1 when the growth exceeds the
bound.

    python benchmarks/soak.py [--iters 2000] [--warmup 50] [--interval 50]
        [--crop 32] [--batch-size 4] [--max-growth-mib 64]
"""
import argparse
import os.path as osp
import sys
import tempfile
import time

import numpy as np
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmseg_reco.testing.memory import status_kib

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = ('configs/reco/'
          'reco-classmix_deeplabv3plus-r18-d8-rep_1xb4-1k_'
          'fashion-canvas-60lab.py')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=CONFIG)
    parser.add_argument('--iters', type=int, default=2000)
    parser.add_argument(
        '--warmup',
        type=int,
        default=50,
        help='iterations before the start measurement (allocator warm-up)')
    parser.add_argument(
        '--interval', type=int, default=50, help='iterations between samples')
    parser.add_argument('--crop', type=int, default=32)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument(
        '--max-growth-mib',
        type=float,
        default=64.0,
        help='largest allowed RSS growth from the warm-up to the end')
    return parser.parse_args()


def rss_mib() -> float:
    """Resident set size of this process in MiB (``VmRSS``)."""
    return status_kib('VmRSS') / 1024


class SoakHook(Hook):
    """Times every training iteration and samples RSS every ``interval``."""

    priority = 'LOWEST'

    def __init__(self, interval: int, report_every: int = 0):
        self.interval = interval
        self.report_every = report_every
        self.times = []
        self.memory = []  # (iteration, MiB)
        self._start = None

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._start = time.perf_counter()

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.times.append(time.perf_counter() - self._start)
        done = runner.iter + 1
        if done % self.interval == 0 or done == runner.max_iters:
            self.memory.append((done, rss_mib()))
        if self.report_every and done % self.report_every == 0:
            recent = self.times[-self.report_every:]
            print(f'  iteration {done}/{runner.max_iters}: RSS '
                  f'{rss_mib():.1f} MiB, {sum(recent) / len(recent):.3f} '
                  's/iter', flush=True)


def build_cfg(args, work_dir: str) -> Config:
    cfg = Config.fromfile(osp.join(REPO, args.config))
    cfg.work_dir = work_dir
    root = osp.join(REPO, 'data/fashion_canvas')
    crop = (args.crop, args.crop)
    loader = cfg.train_dataloader
    for sub in loader.dataset.datasets:
        sub.data_root = root
        for step in sub.pipeline:
            if step['type'] in ('RandomResize', ):
                step['scale'] = crop
            elif step['type'] == 'RandomCrop':
                step['crop_size'] = crop
            elif step['type'] == 'Pad':
                step['size'] = crop
    loader.batch_size = loader.sampler.batch_size = args.batch_size
    loader.sampler.num_labelled = args.batch_size // 2
    loader.num_workers = 0
    loader.persistent_workers = False
    cfg.train_cfg.max_iters = args.iters
    cfg.train_cfg.val_interval = args.iters + 1
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=-1, save_last=False)
    cfg.default_hooks.logger.interval = max(args.iters // 10, 1)
    cfg.log_level = 'WARNING'
    return cfg


def main():
    args = parse_args()
    if args.iters < args.warmup + 10:
        raise SystemExit('--iters must exceed --warmup by at least 10')
    with tempfile.TemporaryDirectory() as tmp:
        cfg = build_cfg(args, tmp)
        runner = Runner.from_cfg(cfg)
        hook = SoakHook(args.interval, report_every=max(args.iters // 10, 1))
        runner.register_hook(hook)
        print(f'ReCo + ClassMix soak: {args.iters} iterations, batch '
              f'{args.batch_size} ({args.batch_size // 2} labelled), '
              f'{args.crop}x{args.crop} crops, CPU, data loader in-process')
        start_wall = time.perf_counter()
        runner.train()
        wall = time.perf_counter() - start_wall

    samples = [(it, mib) for it, mib in hook.memory if it >= args.warmup]
    if not samples:
        raise SystemExit('no memory sample after the warm-up: lower '
                         '--interval or --warmup')
    start_it, start_mib = samples[0]
    end_it, end_mib = samples[-1]
    peak_mib = max(mib for _, mib in samples)
    growth = end_mib - start_mib
    growth_pct = 100 * growth / start_mib
    times = np.asarray(hook.times[args.warmup:])
    tenth = max(len(times) // 10, 1)
    first, last = times[:tenth].mean(), times[-tenth:].mean()
    drift_pct = 100 * (last / first - 1)
    median_drift = 100 * (
        np.median(times[-tenth:]) / np.median(times[:tenth]) - 1)

    print(f'wall time: {wall:.1f} s')
    print('memory samples (iteration: RSS MiB): ' +
          ', '.join(f'{it}: {mib:.1f}' for it, mib in samples))
    print(f'memory at start (iteration {start_it}): {start_mib:.1f} MiB')
    print(f'memory at end (iteration {end_it}): {end_mib:.1f} MiB '
          f'(peak {peak_mib:.1f} MiB)')
    ok = growth <= args.max_growth_mib
    print(f'growth: {growth:+.1f} MiB, bound <= {args.max_growth_mib:.0f} '
          f'MiB: {"ok" if ok else "EXCEEDED"}')
    print(f'time: first 10% {first:.4f} s/iter, last 10% {last:.4f} s/iter '
          f'({tenth} iterations each); time drift: {drift_pct:+.1f}% '
          f'(medians: {median_drift:+.1f}%)')
    print(f'memory growth: {growth_pct:.1f}%')
    if not ok:
        sys.exit(1)


if __name__ == '__main__':
    main()
