"""Seconds per training step: Supervised, ClassMix and ReCo + ClassMix.

Trains each demo config for ``--iters`` iterations on the same model size
and batch with mmengine's Runner and reads the IterTimerHook's figures:
``time`` (the whole step, data included) and ``data_time`` (waiting for the
data loader). Prints each method's seconds per step, its ratio to ClassMix,
the share of time spent waiting for data, and last the overhead that ReCo
adds to a ClassMix step (target: at most 15%).

``--profile`` instead shows where a step goes, for Supervised, ClassMix,
ReCo + ClassMix, the memory bank, RC2L, FixMatch and UniMatch: the parts
of the step run under ``torch.profiler.record_function`` ranges (teacher
forward, or for FixMatch and UniMatch the student's own pass over the
labelled and weak images; strong augmentation, student forward, each loss
term, backward, optimiser step, EMA update, memory-bank push), each timed on the wall clock (the device
synchronised at its ends on CUDA) over the profiled iterations, and
printed as its share of the whole step with the remainder ("other": data,
hooks, logging) as one more row. ``--setting paper`` profiles the paper's
VOC model (DeepLabV3+ R101 at 321 x 321, batch ``--batch-size``: 20 = 10
labelled + 10 unlabelled; use a smaller batch on a CPU) on random
canvases resized to that crop; ``--trace DIR`` writes a Chrome trace per
method.

    python benchmarks/semi_step.py [--iters 30] [--warmup 5] [--device cpu]
    python benchmarks/semi_step.py --profile [--setting demo|paper]
"""
import argparse
import contextlib
import os
import os.path as osp
import tempfile
import time
from collections import OrderedDict

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
METHODS = {
    'Supervised':
    'configs/baselines/supervised_deeplabv3plus-r18-d8_1xb4-1k_'
    'fashion-canvas-60lab.py',
    'ClassMix':
    'configs/baselines/classmix_deeplabv3plus-r18-d8_1xb4-1k_'
    'fashion-canvas-60lab.py',
    'ReCo+ClassMix':
    'configs/reco/reco-classmix_deeplabv3plus-r18-d8-rep_1xb4-1k_'
    'fashion-canvas-60lab.py',
}


#: ``--profile``: the methods and their demo configs
PROFILE_METHODS = OrderedDict([
    ('Supervised', METHODS['Supervised']),
    ('ClassMix', METHODS['ClassMix']),
    ('ReCo+ClassMix', METHODS['ReCo+ClassMix']),
    ('Memory bank',
     'configs/cmb/cmb_deeplabv3plus-r18-d8_1xb4-1k_fashion-canvas-60lab.py'),
    ('RC2L', 'configs/rc2l/rc2l_region-r18_1xb4-1k_fashion-canvas-60lab.py'),
    ('FixMatch', 'configs/unimatch/'
     'fixmatch_deeplabv3plus-r18-d8_1xb4-1k_fashion-canvas-60lab.py'),
    ('UniMatch', 'configs/unimatch/'
     'unimatch_deeplabv3plus-r18-d8_1xb4-1k_fashion-canvas-60lab.py'),
])
#: ``--setting paper``: the R101 model of the VOC configs
PAPER_MODELS = {
    'Supervised': 'configs/_base_/models/deeplabv3plus_r101-d8.py',
    'ClassMix': 'configs/_base_/models/deeplabv3plus_r101-d8.py',
    'ReCo+ClassMix': 'configs/_base_/models/deeplabv3plus_r101-d8_rep.py',
    'Memory bank': 'configs/_base_/models/deeplabv3plus_r101-d8.py',
    'RC2L': 'configs/_base_/models/region_r101.py',
    'FixMatch': 'configs/_base_/models/deeplabv3plus_r101-d8.py',
    'UniMatch': 'configs/_base_/models/deeplabv3plus_r101-d8.py',
}
#: the timed parts: (label, owner, method name)
PARTS = (
    ('teacher forward', 'SemiSegmentor', 'get_pseudo_labels'),
    ('strong augmentation', 'SemiSegmentor', 'strong_view'),
    ('student forward', 'SemiSegmentor', 'student_forward'),
    ('supervised loss', 'SemiSegmentor', 'loss_by_gt'),
    ('student forward + loss (supervised)', 'SemiSegmentor',
     'loss_supervised'),
    ('backward', 'OptimWrapper', 'backward'),
    ('optimiser step', 'OptimWrapper', 'step'),
    ('EMA update', 'MeanTeacherHook', 'after_train_iter'),
    ('memory-bank push', 'MemoryBankHook', 'after_train_iter'),
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=30)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--num-workers', type=int, default=2)
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--profile', action='store_true',
                        help='where a step goes, per method')
    parser.add_argument('--setting', default='demo',
                        choices=['demo', 'paper'])
    parser.add_argument('--crop', type=int, default=321,
                        help="--setting paper: the crop's side (default: "
                        "the VOC configs' 321; smaller for smoke tests)")
    parser.add_argument('--methods', nargs='+',
                        default=list(PROFILE_METHODS),
                        help='--profile: methods to profile')
    parser.add_argument('--trace', default=None,
                        help='--profile: folder for Chrome traces')
    args = parser.parse_args()
    unknown = set(args.methods) - set(PROFILE_METHODS)
    if unknown:
        parser.error(f'unknown methods {sorted(unknown)}; choose from '
                     f'{list(PROFILE_METHODS)}')
    return args


def time_config(path: str, args, work_dir: str, hooks=()) -> dict:
    cfg = Config.fromfile(osp.join(REPO, path))
    if args.device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    if getattr(args, 'setting', 'demo') == 'paper':
        paper_setting(cfg, path, args)
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
    for hook in hooks:
        runner.register_hook(hook, priority='LOWEST')
    runner.train()
    hub = runner.message_hub
    step = np.asarray(hub.get_scalar('train/time').data[0])[args.warmup:]
    data = np.asarray(hub.get_scalar('train/data_time').data[0])[
        args.warmup:]
    return dict(step=float(step.mean()), data=float(data.mean()))


def paper_setting(cfg, path: str, args) -> None:
    """The paper's VOC model at 321 x 321 in place of the demo model."""
    name = [k for k, v in PROFILE_METHODS.items() if v == path][0]
    model = Config.fromfile(osp.join(REPO, PAPER_MODELS[name])).model
    seg = cfg.model.segmentor
    num_classes = seg.decode_head.get(
        'num_classes', seg.decode_head.get('decode_head', {}).get(
            'num_classes', 11))
    # a RepresentationHead wraps the head that owns the classes
    head = model.decode_head
    (head.decode_head if 'decode_head' in head else head).num_classes = \
        num_classes
    keep = {k: seg[k] for k in ('data_preprocessor', ) if k in seg}
    if name in ('ReCo+ClassMix', ):
        model.decode_head.loss_rep = None
    if name == 'Memory bank':
        head = dict(seg.decode_head)
        head['decode_head'] = model.decode_head
        head.pop('norm_cfg', None)
        model.decode_head = head
    model.pop('pretrained', None)
    if 'backbone' in model:  # nothing is downloaded: random weights
        model.backbone.pop('init_cfg', None)
    cfg.model.segmentor = dict(model, **keep)
    crop = (args.crop, args.crop)
    for sub in cfg.train_dataloader.dataset.datasets:
        sub.pipeline = [
            t for t in sub.pipeline
            if t['type'] not in ('RandomResize', 'RandomCrop', 'Pad')
        ]
        pack = sub.pipeline.pop()
        sub.pipeline += [
            dict(type='Resize', scale=crop, keep_ratio=False),
            pack
        ]


class PartTimer:
    """Wall time of the parts of a step, under ``record_function`` ranges.

    Wraps the methods of :data:`PARTS` of the built runner's model, optim
    wrapper and hooks (instances, not classes) after ``warmup`` steps.
    """

    def __init__(self, device: str, warmup: int):
        self.cuda = device == 'cuda'
        self.warmup = warmup
        self.seconds = OrderedDict()
        self.steps = 0
        self.step_seconds = 0.0
        self._start = None

    def _sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def wrap(self, obj, method: str, label: str) -> None:
        fn = getattr(obj, method)

        def timed(*a, **k):
            if self._start is None:
                return fn(*a, **k)
            self._sync()
            start = time.perf_counter()
            with torch.profiler.record_function(label):
                out = fn(*a, **k)
            self._sync()
            self.seconds[label] = self.seconds.get(
                label, 0.0) + time.perf_counter() - start
            return out

        setattr(obj, method, timed)


def part_hooks(timer: PartTimer):
    """Hooks that wrap the parts at the start and clock every step."""
    from mmengine.hooks import Hook
    from mmengine.model import is_model_wrapper

    class Wrap(Hook):
        priority = 'LOWEST'

        def before_train(self, runner):
            model = runner.model.module if is_model_wrapper(
                runner.model) else runner.model
            owners = dict(SemiSegmentor=model,
                          OptimWrapper=runner.optim_wrapper)
            for hook in runner.hooks:
                owners.setdefault(type(hook).__name__, hook)
            for label, owner, method in PARTS:
                target = owners.get(owner)
                if target is not None and hasattr(target, method):
                    timer.wrap(target, method, label)
            if getattr(model, 'teacher_type', 'ema') == 'self':
                # the pass that labels the weak images (an EMA teacher's
                # is 'teacher forward', inside weak_pass)
                timer.wrap(model, 'weak_pass',
                           'student forward (labelled + weak)')
            for term in getattr(model, 'method_losses', []):
                timer.wrap(term, 'forward', f'{type(term).__name__}')
            if getattr(model, 'pseudo_loss', None) is not None:
                timer.wrap(model.pseudo_loss, 'forward', 'pseudo-label CE')

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if runner.iter >= timer.warmup:
                timer._sync()
                timer._start = time.perf_counter()

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            pass

    class Clock(Hook):
        # after every other hook of the step (EMA, bank push)
        priority = 'LOWEST'

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            if timer._start is not None:
                timer._sync()
                timer.step_seconds += time.perf_counter() - timer._start
                timer.steps += 1

    return [Wrap(), Clock()]


def profile(args) -> None:
    """``--profile``: the share of each part of a step, per method."""
    results = OrderedDict()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.methods:
            timer = PartTimer(args.device, args.warmup)
            activities = [torch.profiler.ProfilerActivity.CPU]
            if args.device == 'cuda':
                activities.append(torch.profiler.ProfilerActivity.CUDA)
            context = (torch.profiler.profile(activities=activities)
                       if args.trace else contextlib.nullcontext())
            with context as prof:
                time_config(PROFILE_METHODS[name], args,
                            osp.join(tmp, name), hooks=part_hooks(timer))
            if args.trace:
                os.makedirs(args.trace, exist_ok=True)
                prof.export_chrome_trace(
                    osp.join(args.trace, name.replace('+', '_') + '.json'))
            results[name] = timer
            print(f'{name}: {timer.step_seconds / max(timer.steps, 1):.3f} '
                  f's per step over {timer.steps} steps', flush=True)
    labels = []
    for timer in results.values():
        labels += [k for k in timer.seconds if k not in labels]
    print(f'\nshare of a training step (%), {args.setting} setting, '
          f'batch {args.batch_size}, {args.device}:')
    print('| part | ' + ' | '.join(results) + ' |')
    print('| --- | ' + ' | '.join('---:' for _ in results) + ' |')
    for label in labels + ['other (data, hooks, logging)']:
        row = []
        for timer in results.values():
            total = max(timer.step_seconds, 1e-9)
            if label.startswith('other'):
                value = total - sum(timer.seconds.values())
            else:
                value = timer.seconds.get(label)
            row.append('-' if value is None else f'{100 * value / total:.1f}')
        print(f'| {label} | ' + ' | '.join(row) + ' |')
    print('| s per step | ' + ' | '.join(
        f'{t.step_seconds / max(t.steps, 1):.3f}'
        for t in results.values()) + ' |')


def main():
    args = parse_args()
    if args.profile:
        return profile(args)
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA device')
    device = (torch.cuda.get_device_name()
              if args.device == 'cuda' else f'cpu ({torch.get_num_threads()}'
              ' threads)')
    crop = (f'{args.crop}x{args.crop}' if args.setting == 'paper' else
            '64x64')
    print(f'device: {device}; {args.setting} setting, batch '
          f'{args.batch_size} ({crop}), '
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
