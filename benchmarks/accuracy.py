"""Accuracy of the semi-supervised methods on the demo canvases, over seeds.

Trains each method (by default Supervised, ClassMix, ReCo + ClassMix, the
memory bank, and Supervised on all labels; ``--methods`` adds the
supervised region model, RC2L, S4GAN, CutMix and CutOut) for ``--seeds``
with the same iteration budget, ``--jobs`` runs at a time on ``--threads``
CPU threads each, on the class-balanced labelled split
``splits/labelled-<--labelled>.txt`` (default 20 canvases, written by
``tools/make_splits.py`` when missing; the other training canvases are
unlabelled), every run starting from the backbone pre-trained on
Fashion-MNIST by ``tools/pretrain_backbone.py`` (run first when its
checkpoint is missing). ``supervised-full`` trains the Supervised config on
all 2,000 training canvases with the same budget: the reference of the
label-efficiency column; ``supervised-region-full`` does the same for the
region model (the reference when ``supervised-full`` is not run);
``supervised-region-oracle`` trains the region model on RC2L's batch, 4
labelled and 4 unlabelled canvases per step, the unlabelled ones with
their true labels (RC2L's ceiling); ``rc2l-oracle`` trains RC2L with its
unlabelled canvases' true segments as the teacher's regions (RC2L's losses
on perfect regions). Each method's config is used as it
is, apart
from: the split files, the iteration budget (the poly schedule's end, and
iteration counts of warm-ups and ramp-ups scaled by budget / config
iterations), the seed, the backbone's ``init_cfg``, the evaluators and the
checkpoint/log intervals.

Every semi-supervised run evaluates both its teacher and its student
(``semi_test_cfg.predict_both``; ``teacher/mIoU``, ``student/mIoU``), and
``PseudoLabelQualityHook`` scores the teacher's pseudo-labels on the first
``--pseudo-images`` unlabelled training canvases against their ground truth
(which training never sees) at every evaluation.

Then prints: the summary table (teacher and student mIoU, last and best
evaluation, mean ± half the range over seeds, and the share of the
full-label mIoU), the per-class IoU table of the evaluated model's last
evaluation (``tools/analysis/aggregate.py``), the pseudo-label figures over
training, and the targets of the label-efficiency protocol with every
seed's difference; writes them as CSV and markdown, draws the loss/mIoU
curves of every run, the seed-0 predictions of every method side by side,
and the relation graph and dendrogram of every seed-0 model. The last line
is the headline: ReCo + ClassMix minus Supervised mIoU.

Every run is a ``tools/train.py`` process on a config written into its work
dir (``<work-dir>/<method>/seed<k>/<config name>.py``); a finished run
with the same settings and the same config (its SHA-1, inherited files
included) is not trained again (``--rerun`` forces it).

    python benchmarks/accuracy.py                          # CPU default
    python benchmarks/accuracy.py --methods all            # every method
    python benchmarks/accuracy.py --device cuda --full     # bigger settings
    python benchmarks/accuracy.py --iters 20 --seeds 0     # smoke test
    python benchmarks/accuracy.py --methods supervised-region rc2l
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from mmengine.config import Config, DictAction

from mmseg_reco.visualization import aggregate_work_dirs

# the demo's paths live in this checkout's tools/ (the method table and the
# summary tables beside this file): data, checkpoints and runs resolve here,
# whichever checkout the installed mmseg_reco comes from
_BENCHMARKS = osp.dirname(osp.abspath(__file__))
for _folder in (_BENCHMARKS, osp.join(osp.dirname(_BENCHMARKS), 'tools')):
    if _folder not in sys.path:
        sys.path.append(_folder)

from accuracy_methods import (DEFAULT_METHODS,  # noqa: E402
                              FULL_LABEL_METHODS, KNOWN_UNLABELLED_METHODS,
                              KNOWN_WEAK_PIPELINE_BASE, METHOD_OPTIONS,
                              METHODS, NAMES, ORACLE_METHODS)
from accuracy_tables import (pseudo_label_markdown, room_lines,  # noqa: E402
                             spread, summarise_runs, summary_markdown,
                             target_lines, teacher_flags)
from demo_support import (DATA_ROOT, PRETRAINED_CHECKPOINT,  # noqa: E402
                          ensure_pretrained, ensure_split, split_files)
from demo_support import REPO_ROOT as REPO  # noqa: E402

#: (method, baseline, margin): the label-efficiency targets, in mIoU
#: (None: a comparison without a target)
TARGETS = (('classmix', 'supervised', 3.0), ('reco', 'classmix', 1.5),
           ('cmb', 'classmix', 1.0), ('unimatch', 'classmix', 2.0),
           ('reco-unimatch', 'unimatch', 0.5),
           ('fixmatch', 'supervised', None),
           ('classmix-oracle', 'supervised-full', -2.0),
           ('cutmix', 'supervised', None), ('s4gan', 'supervised', None),
           ('classmix', 'classmix-joint', None),
           ('rc2l', 'supervised-region', 2.0),
           ('supervised-region-full', 'supervised-region', None),
           ('supervised-region-oracle', 'supervised-region', None),
           ('rc2l-oracle', 'supervised-region', None))
#: (method, few-label reference, full-label reference, share): the share
#: of the room between the references a method recovers
ROOM_TARGETS = (('reco', 'supervised', 'supervised-full', 0.4), )
#: CPU default and ``--full`` settings: iterations and evaluations per run.
SETTINGS = dict(
    default=dict(iters=2000, evals=8),
    full=dict(iters=8000, evals=8))
#: Iteration counts in configs that follow the schedule's length.
SCHEDULE_KEYS = ('warmup_iters', 'rampup_iters', 'start_iter')
#: Table columns: the demo's classes (FashionCanvasDataset).
CLASSES = ('background', 'T-shirt/top', 'Trouser', 'Pullover', 'Dress',
           'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot')
HEADLINE = ('reco', 'supervised')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--methods', nargs='+', default=list(DEFAULT_METHODS),
        help=f"methods to train, of {list(METHODS)}, or 'all' (every one "
        f'whose config exists). Default: {" ".join(DEFAULT_METHODS)}')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--labelled', type=int, default=10,
                        help='labelled canvases (class-balanced split '
                        'splits/labelled-N.txt, made when missing). '
                        'Default: 10')
    parser.add_argument('--pseudo-images', type=int, default=200,
                        help='unlabelled canvases whose pseudo-labels are '
                        'scored at every evaluation (0: none). Default: 200')
    parser.add_argument('--iters', type=int, default=None,
                        help='iterations per run (default: '
                        f"{SETTINGS['default']['iters']}, with --full "
                        f"{SETTINGS['full']['iters']})")
    parser.add_argument('--evals', type=int, default=None,
                        help='evaluations per run, evenly spaced (the curves)')
    parser.add_argument('--full', action='store_true',
                        help='bigger settings (for a GPU)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--work-dir', default='work_dirs/benchmark_accuracy')
    parser.add_argument('--pretrained', default=PRETRAINED_CHECKPOINT,
                        help='backbone checkpoint (made by '
                        'tools/pretrain_backbone.py when missing)')
    parser.add_argument('--no-pretrained', action='store_true',
                        help='start from random weights')
    parser.add_argument('--pretrain-args', default='',
                        help='extra arguments for tools/pretrain_backbone.py')
    parser.add_argument('--split-per-seed', action='store_true',
                        help='seed k > 0 uses splits/labelled-N-seed<k>.txt '
                        '(tools/make_splits.py --seed k) instead of one split')
    parser.add_argument('--val-images', type=int, default=None,
                        help='evaluate on the first N validation canvases '
                        'only (smoke tests; default: all 300)')
    parser.add_argument('--num-workers', type=int, default=None,
                        help='data loader workers (default: the configs)')
    parser.add_argument('--jobs', type=int, default=None,
                        help='runs trained at the same time (default: 2 on '
                        'CPU with two or more cores, 1 on CUDA)')
    parser.add_argument('--threads', type=int, default=None,
                        help='CPU threads per run (default: cores // jobs)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='key=value options merged into every run\'s config, as '
        'tools/train.py\'s, before the benchmark\'s overrides (iteration '
        'counts such as rampup_iters are scaled with the schedule); runs '
        'trained with other options are not reused, so give such a '
        'variant its own --work-dir')
    parser.add_argument('--rerun', action='store_true',
                        help='train again runs that finished before')
    parser.add_argument('--no-pictures', action='store_true')
    parser.add_argument('--no-relation-graphs', action='store_true',
                        help='draw the curves and predictions only')
    parser.add_argument('--pictures-max-images', type=int, default=None,
                        help='validation images for the relation graphs '
                        '(default: all)')
    args = parser.parse_args(argv)
    setting = SETTINGS['full' if args.full else 'default']
    args.iters = args.iters or setting['iters']
    args.evals = args.evals or setting['evals']
    if args.jobs is None:
        args.jobs = 1 if args.device == 'cuda' else min(
            2, os.cpu_count() or 1)
    if args.jobs < 1:
        parser.error('--jobs must be at least 1')
    if args.threads is None:
        args.threads = max(1, (os.cpu_count() or 1) // args.jobs)
    if args.methods == ['all']:
        args.methods = [k for k, (_, c) in METHODS.items()
                        if osp.isfile(osp.join(REPO, c))]
    unknown = [m for m in args.methods if m not in METHODS]
    if unknown:
        parser.error(f'unknown methods {unknown}; choose from {list(METHODS)}')
    return args


def _scale_schedule(node, factor):
    """Scale iteration counts of warm-ups and ramp-ups in place."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in SCHEDULE_KEYS and isinstance(value, int) and value > 0:
                node[key] = max(1, round(value * factor))
            else:
                _scale_schedule(value, factor)
    elif isinstance(node, (list, tuple)):
        for item in node:
            _scale_schedule(item, factor)


def _schedulers(node):
    """The scheduler configs of ``param_scheduler`` (a list, or a dict of
    lists per optimiser)."""
    if isinstance(node, dict) and 'type' not in node:
        for value in node.values():
            yield from _schedulers(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _schedulers(item)
    elif node is not None:
        yield node


def split_file(kind, args, seed=0):
    """``splits/<kind>-<N>[-seed<k>].txt`` of the benchmark's split."""
    labelled, unlabelled = split_files(
        args.labelled, seed if args.split_per_seed else 0)
    return dict(labelled=labelled, unlabelled=unlabelled)[kind]


def is_semi(cfg):
    """Whether the config trains on pseudo-labels of a teacher: a mean
    teacher, or the student itself (``teacher='self'``)."""
    return cfg.model.get('teacher') == 'self' or any(
        h.get('type') == 'MeanTeacherHook'
        for h in cfg.get('custom_hooks', []))


def run_config(config, work_dir, seed, args, method=None):
    """The config of one run, with the benchmark's overrides."""
    cfg = Config.fromfile(osp.join(REPO, config))
    if method in METHOD_OPTIONS:
        cfg.merge_from_dict(METHOD_OPTIONS[method])
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    config_iters = cfg.train_cfg.max_iters
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.train_cfg.max_iters = args.iters
    cfg.train_cfg.val_interval = max(1, args.iters // args.evals)
    for scheduler in _schedulers(cfg.get('param_scheduler')):
        if scheduler.get('end') == config_iters:
            scheduler['end'] = args.iters
    _scale_schedule(cfg.model, args.iters / config_iters)
    _scale_schedule(cfg.get('custom_hooks', []), args.iters / config_iters)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=args.iters,
        max_keep_ckpts=1, save_last=True, save_optimizer=False)
    cfg.default_hooks.logger.interval = max(1, min(20, args.iters // 20))
    metric = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])
    cfg.val_evaluator = cfg.test_evaluator = metric
    labelled, unlabelled = cfg.train_dataloader.dataset.datasets
    labelled.ann_file = ('splits/train.txt' if method in FULL_LABEL_METHODS
                         else split_file('labelled', args, seed))
    unlabelled.ann_file = split_file('unlabelled', args, seed)
    if method in ORACLE_METHODS:
        unlabelled = dict(labelled, ann_file=unlabelled.ann_file)
        cfg.train_dataloader.dataset.datasets[1] = unlabelled
        sampler = cfg.train_dataloader.sampler
        sampler.batch_size = 2 * sampler.num_labelled
        cfg.train_dataloader.batch_size = sampler.batch_size
    if method in KNOWN_UNLABELLED_METHODS:
        base = Config.fromfile(osp.join(REPO, KNOWN_WEAK_PIPELINE_BASE))
        cfg.train_dataloader.dataset.datasets[1] = dict(
            labelled,
            ann_file=unlabelled.ann_file,
            pipeline=base.partial_weak_pipeline)
    if is_semi(cfg):
        # score the teacher and the student in every evaluation
        cfg.model.semi_test_cfg = dict(
            cfg.model.get('semi_test_cfg') or {}, predict_both=True)
        cfg.val_evaluator = cfg.test_evaluator = [metric] + [
            dict(metric, pred_key=f'{name}_pred_sem_seg', prefix=name)
            for name in ('teacher', 'student')
        ]
        if args.pseudo_images:
            sampler = cfg.train_dataloader.sampler
            from mmseg_reco.engine.hooks.pseudo_label_quality_hook import \
                labelled_copy
            cfg.custom_hooks.append(
                dict(
                    type='PseudoLabelQualityHook',
                    dataset=labelled_copy(labelled.type, labelled.data_root,
                                          unlabelled.ann_file),
                    batch_size=sampler.batch_size - sampler.num_labelled,
                    num_images=args.pseudo_images))
    imports = cfg.get('custom_imports', dict(imports=[]))
    imports = dict(imports, imports=list(imports['imports']) +
                   ['mmseg_reco.evaluation'])
    cfg.custom_imports = imports
    segmentor = cfg.model.get('segmentor', cfg.model)
    if not args.no_pretrained:
        segmentor.backbone.init_cfg = dict(
            type='Pretrained', checkpoint=osp.abspath(args.pretrained),
            prefix='backbone.')
    if args.val_images is not None:
        for loader in (cfg.val_dataloader, cfg.test_dataloader):
            loader.dataset.indices = args.val_images
    if args.num_workers is not None:
        for loader in (cfg.train_dataloader, cfg.val_dataloader,
                       cfg.test_dataloader):
            loader.num_workers = args.num_workers
            loader.persistent_workers = args.num_workers > 0
    return cfg


_PRINT_LOCK = threading.Lock()
#: mmengine resolves ``mmseg::`` bases through pkg_resources, which is not
#: thread-safe: runs started at once build their configs one at a time
_CONFIG_LOCK = threading.Lock()


def _say(line):
    """Print one whole line, also when several runs report at once."""
    with _PRINT_LOCK:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()


def run_settings(method, seed, args, config_text=None):
    """What a run's result depends on: the benchmark's settings and, with
    ``config_text``, the digest of the config the run trains (so that a
    finished run is trained again when a config it inherits has changed)."""
    digest = ({} if config_text is None else dict(
        config_sha1=hashlib.sha1(config_text.encode()).hexdigest()))
    return dict(
        method=method, seed=seed, iters=args.iters, evals=args.evals,
        labelled=args.labelled, pseudo_images=args.pseudo_images,
        pretrained=None if args.no_pretrained else osp.abspath(
            args.pretrained),
        split_per_seed=args.split_per_seed, val_images=args.val_images,
        **(dict(cfg_options=args.cfg_options) if args.cfg_options else {}),
        **digest)


def finished(work_dir, settings):
    """Whether a run with these settings holds its final evaluation and
    checkpoint."""
    from mmseg_reco.visualization import read_evaluation
    path = osp.join(work_dir, 'benchmark_run.json')
    if not osp.isfile(path):
        return False
    with open(path) as f:
        if json.load(f) != settings:
            return False
    iters = settings['iters']
    result = read_evaluation(work_dir)
    return (result is not None and result.get('step') == iters
            and osp.isfile(osp.join(work_dir, f'iter_{iters}.pth')))


def train(method, seed, args):
    """Train one run in a ``tools/train.py`` process; returns seconds."""
    name, config = METHODS[method]
    work_dir = osp.join(args.work_dir, method, f'seed{seed}')
    with _CONFIG_LOCK:
        cfg = run_config(config, work_dir, seed, args, method)
    settings = run_settings(method, seed, args, cfg.pretty_text)
    if not args.rerun and finished(work_dir, settings):
        _say(f'{name} seed {seed}: finished before, kept ({work_dir})')
        return work_dir, None
    if osp.isdir(work_dir):  # an unfinished or outdated run: start afresh
        shutil.rmtree(work_dir)
    os.makedirs(work_dir)
    with open(osp.join(work_dir, 'benchmark_run.json'), 'w') as f:
        json.dump(settings, f)
    config_path = osp.join(work_dir, osp.basename(config))
    cfg.dump(config_path)
    env = dict(os.environ)
    if args.device == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''
    for key in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        env[key] = str(args.threads)
    command = [sys.executable, 'tools/train.py', config_path,
               '--work-dir', work_dir]
    start = time.time()
    with open(osp.join(work_dir, 'console.log'), 'w') as log:
        code = subprocess.call(command, cwd=REPO, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    seconds = time.time() - start
    if code != 0:
        raise RuntimeError(f'{name} seed {seed} failed (exit {code}); see '
                           f'{osp.join(work_dir, "console.log")}')
    from mmseg_reco.visualization import read_evaluation
    result = read_evaluation(work_dir) or {}
    _say(f'{name} seed {seed}: mIoU {result.get("mIoU", float("nan")):.2f} '
         f'after {args.iters} iterations, {seconds:.0f} s')
    with open(osp.join(work_dir, 'benchmark_time.json'), 'w') as f:
        json.dump(dict(seconds=round(seconds, 1), jobs=args.jobs,
                       threads=args.threads), f)
    return work_dir, seconds


def recorded_seconds(work_dir):
    """Training seconds of a run, as written when it was trained."""
    path = osp.join(work_dir, 'benchmark_time.json')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)['seconds']


def projected(times, todo, jobs):
    """Wall seconds of all runs ``todo``: measured ones, plus the others
    at their method's mean (or the overall mean) time, shared by ``jobs``
    runs at a time."""
    overall = sum(times.values()) / len(times)
    total = sum(times.values())
    for seed, method in todo:
        if (method, seed) in times:
            continue
        spent = [t for (m, _), t in times.items() if m == method]
        total += sum(spent) / len(spent) if spent else overall
    return total / jobs


def train_all(todo, args, start):
    """Train the runs ``todo`` (``(seed, method)`` pairs), ``args.jobs``
    at a time; returns their work dirs and the seconds of those trained.

    A failed run stops the others from starting; the ones already running
    finish, and the first failure is raised.
    """
    work_dirs, times = {}, {}
    failures = []

    def one(seed, method):
        if failures:
            return
        try:
            work_dir, seconds = train(method, seed, args)
        except Exception as exc:  # reported after the running ones end
            failures.append(exc)
            return
        work_dirs[(seed, method)] = work_dir
        if seconds is not None:
            times[(method, seed)] = seconds
            _say(f'  elapsed {(time.time() - start) / 60:.1f} min, '
                 'projected training total '
                 f'{projected(times, todo, args.jobs) / 60:.0f} min')

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for future in [pool.submit(one, s, m) for s, m in todo]:
            future.result()
    if failures:
        raise failures[0]
    return work_dirs, times


def pictures(runs, args):
    """Curves of every run; predictions and relation graphs at seed 0."""
    from mmseg_reco.visualization import load_scalars, plot_curves
    out = args.work_dir
    records, groups = OrderedDict(), {}
    for method, dirs in runs.items():
        for work_dir in dirs:
            records[work_dir] = load_scalars(work_dir)
            groups[work_dir] = METHODS[method][0]
    plot_curves(records, osp.join(out, 'curves.png'), groups=groups,
                window=3, title=f'{args.iters} iterations per run')
    print(f'wrote {osp.join(out, "curves.png")}')
    first = OrderedDict(
        (method, dirs[0]) for method, dirs in runs.items() if dirs)
    models = []
    for method, work_dir in first.items():
        name, config = METHODS[method]
        config_path = osp.join(work_dir, osp.basename(config))
        checkpoint = osp.join(work_dir, f'iter_{args.iters}.pth')
        models.append((name, config_path, checkpoint))
    subprocess.check_call(
        [sys.executable, 'tools/analysis/compare_predictions.py'] +
        [f'{n}={c}:{k}' for n, c, k in models] + [
            '--num-images', '6', '--out', osp.join(out, 'predictions.png'),
            '--device', args.device
        ], cwd=REPO)
    if args.no_relation_graphs:
        return
    for (method, _), (name, config_path, checkpoint) in zip(
            first.items(), models):
        embeddings = ['feat']
        if method in ('reco', 'cmb'):
            embeddings.append('rep')
        argv = [sys.executable, 'tools/analysis/relation_graph.py',
                config_path, checkpoint, '--out',
                osp.join(out, 'relation_graph', method), '--title', name,
                '--device', args.device, '--embedding'] + embeddings
        if args.pictures_max_images:
            argv += ['--max-images', str(args.pictures_max_images)]
        done = subprocess.run(argv, cwd=REPO, stderr=subprocess.PIPE,
                              text=True)
        if done.returncode != 0:  # e.g. a head without the embedding
            reason = (done.stderr.strip().splitlines() or ['no message'])[-1]
            print(f'{name}: no relation graph ({reason})')


def main(argv=None):
    args = parse_args(argv)
    os.chdir(REPO)
    start = time.time()
    for method in args.methods:
        if not osp.isfile(METHODS[method][1]):
            raise FileNotFoundError(f'{method}: {METHODS[method][1]} missing')
    for seed in (args.seeds if args.split_per_seed else [0]):
        ensure_split(args.labelled, seed, DATA_ROOT)
    if not args.no_pretrained:
        ensure_pretrained(args.pretrained, args.device,
                          args.pretrain_args.split())
    print(f'methods {args.methods}, seeds {args.seeds}, {args.labelled} '
          f'labelled canvases, {args.iters} iterations per run, device '
          f'{args.device}', flush=True)
    print(f'{args.jobs} run(s) at a time, {args.threads} CPU thread(s) '
          'each', flush=True)
    todo = [(seed, method) for seed in args.seeds for method in args.methods]
    work_dirs, times = train_all(todo, args, start)
    runs = OrderedDict(
        (method, [work_dirs[(seed, method)] for seed in args.seeds])
        for method in args.methods)
    train_time = time.time() - start
    run_seconds = {}
    for method in args.methods:
        spent = [recorded_seconds(d) for d in runs[method]]
        spent = [t for t in spent if t is not None]
        if spent:
            run_seconds[method] = sum(spent) / len(spent)
            kept = '' if len(times) == len(todo) else ' (incl. kept runs)'
            print(f'{METHODS[method][0]}: {run_seconds[method]:.0f} s '
                  f'per run ({args.iters} iterations){kept}')
    names = {d: METHODS[m][0] for m, dirs in runs.items() for d in dirs}
    table, _ = aggregate_work_dirs(
        [d for dirs in runs.values() for d in dirs], names=names,
        class_names=CLASSES)
    from mmseg_reco.visualization import format_markdown, write_csv
    markdown = format_markdown(table)
    summary = summarise_runs(runs)
    full = [m for m in FULL_LABEL_METHODS if summary.get(m, {}).get(
        'evaluated')]
    reference = (spread(summary[full[0]]['evaluated'])[0] if full else None)
    summary_md = summary_markdown(summary, NAMES, reference)
    pseudo_md = pseudo_label_markdown(runs, NAMES)
    targets = (target_lines(summary, args.seeds, TARGETS, NAMES) +
               room_lines(summary, args.seeds, ROOM_TARGETS, NAMES) +
               teacher_flags(summary, NAMES))
    write_csv(table, osp.join(args.work_dir, 'accuracy.csv'))
    with open(osp.join(args.work_dir, 'accuracy.md'), 'w') as f:
        f.write(f'Runs of methods {list(args.methods)}, seeds '
                f'{list(args.seeds)} (one invocation; run the whole '
                'command again to summarise runs trained in pieces)\n\n')
        f.write(summary_md + '\n\n' + markdown + '\n')
        if pseudo_md:
            f.write('\n' + pseudo_md + '\n')
        if targets:
            f.write('\n' + '\n'.join(f'- {t}' for t in targets) + '\n')
    with open(osp.join(args.work_dir, 'settings.json'), 'w') as f:
        json.dump(dict(vars(args), train_seconds=round(train_time),
                       runs_trained_now=len(times),
                       seconds_per_run=run_seconds,
                       summary=summary), f, indent=1)
    if not args.no_pictures:
        pictures(runs, args)
    total = time.time() - start
    print()
    print(f'{len(args.methods)} methods x {len(args.seeds)} seeds, '
          f'{args.labelled} labelled canvases, {args.iters} iterations per '
          f'run, {args.device} ({args.jobs} run(s) at a time, '
          f'{args.threads} thread(s) each); mIoU, mean ± half range over '
          'seeds:')
    print(summary_md)
    print()
    print('per-class IoU of the evaluated model (teacher for the mean '
          'teachers), last evaluation:')
    print(markdown)
    if pseudo_md:
        print()
        print('the teacher\'s pseudo-labels on unlabelled training canvases '
              '(%, mean over seeds):')
        print(pseudo_md)
    print(f'total time {total / 60:.1f} min (training {train_time / 60:.1f} '
          f'min); files in {args.work_dir}')
    for line in targets:
        print(line)
    miou = {m: spread(summary[m]['evaluated'])[0] for m in args.methods
            if summary.get(m, {}).get('evaluated')}
    top, base = HEADLINE
    if top not in miou or base not in miou:
        base = args.methods[0]
        others = [m for m in miou if m != base and
                  m not in FULL_LABEL_METHODS] or [base]
        top = max(others, key=miou.get)
    if top == base:  # one method: nothing to compare it with
        print(f'{METHODS[top][0]}: {miou[top]:.1f} mIoU')
        return
    print(f'{METHODS[top][0]} - {METHODS[base][0]}: '
          f'{miou[top] - miou[base]:+.1f} mIoU')


if __name__ == '__main__':
    import matplotlib
    matplotlib.use('Agg')  # figures go to files; no display needed
    main()
