"""GPU check in one command: install offline, run every benchmark and check.

On a GPU machine without network (Python with torch preinstalled), from a
folder of wheels made by ``tools/gpu_wheels.sh``:

1. ``install``: mmengine, mmsegmentation and their pure-Python needs from
   the wheels (``pip install --no-index --no-deps``); mmcv 2.1.0 compiled
   with its ops from the source archive for this machine's torch, with CUDA
   hidden from the build (CPU ops; timed), unless an mmcv 2.1.0 whose ops
   import is already installed. This repository is used through
   ``PYTHONPATH``.
2. The benchmarks on the device: ``reco_loss.py``, ``cmb_loss.py``,
   ``semi_step.py`` at the paper's VOC setting and at the demo setting, and
   ``peak_memory.py`` for every method.
3. Every method's demo config (``benchmarks/accuracy_methods.py``, the
   table of ``benchmarks/accuracy.py``) through ``tools/train.py``: 20
   iterations in float32, and 10 iterations with ``--amp`` saved and
   resumed to 20. The losses of every logged iteration must be finite.
   With CUDA (fp16 and a dynamic loss scaler) the scaler's state must be in
   the checkpoint, and a resume must restore it: the saved scale is
   replaced by a marker that no fresh scaler can reach (3 x 2^8; a fresh
   one holds powers of two), and the scale saved after the resume must
   still be the marker times a power of two.
4. ``benchmarks/accuracy.py --full`` for Supervised, ClassMix and
   ReCo + ClassMix with as many iterations as the time left allows (from
   the seconds per iteration measured in step 3).

Every step runs in child processes under its own timeout and a global
budget (``--budget-s``) that starts with the tool; a step that the budget
cannot hold is reported ``not run (out of time)``, one stopped at its limit
``timed out``. The report (``gpu_check.json``, ``gpu_check.md``) is written
after every step into ``--out`` (default ``$OUT`` when set, else
``work_dirs/gpu_check``), with ``logs.tar.gz`` holding every step's output.

``--dry-run`` rehearses on a CPU: tiny sizes, 2 training iterations, and no
installing (the packages must already import).

    python tools/gpu_check.py --wheels wheels --out "$OUT"
    python tools/gpu_check.py --device cpu --dry-run --out /tmp/check
"""
import argparse
import datetime
import glob
import json
import math
import os
import os.path as osp
import platform
import signal
import subprocess
import sys
import tarfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# the method table (benchmarks/) and the demo's paths (tools/) of this
# checkout; both modules need only the standard library, so they import
# before the install step
for _folder in (osp.join(REPO, 'benchmarks'), osp.join(REPO, 'tools')):
    if _folder not in sys.path:
        sys.path.append(_folder)

from accuracy_methods import distinct_configs  # noqa: E402
from demo_support import DATA_ROOT, PRETRAINED_CHECKPOINT  # noqa: E402

PASSED = 'passed'
FAILED = 'failed'
NOT_RUN = 'not run (out of time)'
TIMED_OUT = 'timed out'
#: the versions the project is tested with
VERSIONS = dict(mmcv='2.1.0', mmengine='0.10.7', mmseg='1.2.2')
#: pure-Python packages the wheels bring (import names)
WHEEL_IMPORTS = ('addict', 'yapf', 'termcolor', 'prettytable', 'wcwidth',
                 'ftfy', 'platformdirs')
DEMO_DATA = osp.join(DATA_ROOT, 'meta.json')
PRETRAINED = PRETRAINED_CHECKPOINT
#: loss scale written into the AMP checkpoint before the resume: not a
#: power of two, so only a restored scaler can hold it (times 2^k)
SCALE_MARK = 3.0 * 2**8
#: methods of the accuracy run: the headline is ReCo+ClassMix - Supervised
ACCURACY_METHODS = ('supervised', 'classmix', 'reco')
#: seconds per training iteration assumed for a method whose demo config
#: was not timed by its training check
FALLBACK_S_PER_ITER = dict(cuda=0.2, cpu=3.0)
OUTPUT_TAIL = 3000
#: child processes running now (each leads its own process group)
RUNNING = set()


class StepTimeout(Exception):
    """A step's command ran past the step's deadline."""


class StepFailed(Exception):
    """A step's command failed or its result is wrong; the message says how."""


class Budget:
    """Seconds left of the time shared by all steps."""

    def __init__(self, seconds: float, clock=time.monotonic):
        self.clock = clock
        self.deadline = clock() + seconds

    def left(self) -> float:
        return self.deadline - self.clock()


@dataclass
class Step:
    """One line of the report.

    Args:
        name (str): its name in the report.
        body (callable): ``body(ctx) -> headline``; runs its commands through
            ``ctx.call`` and raises :class:`StepFailed` on a wrong result.
        timeout_s (float): its own limit (the budget left may cut it).
        min_s (float): the least budget worth starting it with.
        parallel (bool): may run beside its neighbouring parallel steps.
    """
    name: str
    body: Callable[['Context'], str]
    timeout_s: float
    min_s: float = 10.0
    parallel: bool = False


class Context:
    """What a step's body uses: commands under the step's deadline, a log."""

    def __init__(self, deadline: float, log_path: str, env: dict):
        self.deadline = deadline
        self.log_path = log_path
        self.env = env

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def log(self, text: str) -> None:
        with open(self.log_path, 'a') as f:
            f.write(text if text.endswith('\n') else text + '\n')

    def call(self, cmd: List[str], env: Optional[dict] = None,
             check: bool = True) -> str:
        """Run ``cmd`` in the repository; return its stdout.

        stderr goes to the step's log, then stdout. The command and its
        children are killed at the deadline (:class:`StepTimeout`); a
        non-zero exit raises :class:`StepFailed` with the output's end.
        """
        left = self.left()
        if left <= 0:
            raise StepTimeout()
        self.log('$ ' + ' '.join(cmd))
        with open(self.log_path, 'a') as err:
            proc = subprocess.Popen(
                cmd, cwd=REPO, env=env or self.env, stdout=subprocess.PIPE,
                stderr=err, text=True, start_new_session=True)
            RUNNING.add(proc)
            try:
                out, _ = proc.communicate(timeout=left)
            except subprocess.TimeoutExpired:
                kill_group(proc)
                out, _ = proc.communicate()
                self.log(out or '')
                raise StepTimeout()
            finally:
                RUNNING.discard(proc)
        self.log(out)
        if check and proc.returncode != 0:
            scripts = [osp.basename(c) for c in cmd if c.endswith('.py')]
            why = error_line(output_tail(self.log_path))
            name = (scripts or [osp.basename(cmd[0])])[0]
            raise StepFailed(f'{name} exited with status {proc.returncode}' +
                             (f': {why}' if why else ''))
        return out


def kill_group(proc: subprocess.Popen) -> None:
    """Kill a child and everything it started (its process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop(signum, frame):
    """SIGTERM/SIGINT: kill the running children, then exit (status 1)."""
    for proc in list(RUNNING):
        kill_group(proc)
    say(f'stopped by signal {signum}; the report holds the finished steps')
    os._exit(1)


def error_line(text: str) -> str:
    """The last line of ``text`` that names an error, e.g. a traceback's."""
    for line in reversed(text.splitlines()):
        head = line.strip().split(':')[0]
        if head.endswith(('Error', 'Exception', 'SystemExit')) or \
                line.startswith('error:'):
            return line.strip()[:300]
    return ''


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ''


def output_tail(path: str, chars: int = OUTPUT_TAIL) -> str:
    if not osp.exists(path):
        return ''
    with open(path, errors='replace') as f:
        return f.read()[-chars:]


def run_step(step: Step, budget: Budget, logs_dir: str, env: dict) -> dict:
    """Run one step within the budget; its result as a report entry."""
    result = dict(name=step.name, status=NOT_RUN, wall_s=0.0, headline='',
                  timeout_s=None)
    left = budget.left()
    if left < max(step.min_s, 1.0):
        result['headline'] = (f'{max(left, 0):.0f} s of the budget left, '
                              f'needs at least {step.min_s:.0f} s')
        return result
    limit = min(step.timeout_s, left)
    result['timeout_s'] = round(limit, 1)
    log_path = osp.join(logs_dir, slug(step.name) + '.log')
    ctx = Context(time.monotonic() + limit, log_path, env)
    start = time.monotonic()
    try:
        headline = step.body(ctx)
        if not headline:
            raise StepFailed('no headline printed')
        result.update(status=PASSED, headline=headline)
    except StepTimeout:
        cut = 'its limit' if limit == step.timeout_s else "the budget's end"
        result.update(status=TIMED_OUT,
                      headline=f'stopped at {cut} ({limit:.0f} s)')
    except StepFailed as error:
        result.update(status=FAILED, headline=str(error))
    except Exception as error:  # a bug in the check itself is a failure too
        result.update(status=FAILED,
                      headline=f'{type(error).__name__}: {error}')
    result['wall_s'] = round(time.monotonic() - start, 1)
    if result['status'] != PASSED:
        result['output_tail'] = output_tail(log_path)
    return result


def run_steps(steps: List[Step], budget: Budget, logs_dir: str, env: dict,
              jobs: int = 1, on_result: Callable[[list], None] = None
              ) -> List[dict]:
    """Run ``steps`` in order (runs of parallel steps ``jobs`` at a time)."""
    os.makedirs(logs_dir, exist_ok=True)
    results: List[Optional[dict]] = [None] * len(steps)
    lock = threading.Lock()

    def one(i):
        res = run_step(steps[i], budget, logs_dir, env)
        with lock:
            results[i] = res
            say(f"{res['name']}: {res['status']} ({res['wall_s']:.1f} s) "
                f"{res['headline']}")
            if on_result:
                on_result([r for r in results if r is not None])

    i = 0
    while i < len(steps):
        if steps[i].parallel and jobs > 1:
            j = i
            while j < len(steps) and steps[j].parallel:
                j += 1
            with ThreadPoolExecutor(jobs) as pool:
                list(pool.map(one, range(i, j)))
            i = j
        else:
            one(i)
            i += 1
    return results


def slug(name: str) -> str:
    return ''.join(c if c.isalnum() or c in '.-' else '_'
                   for c in name).strip('_')


def say(line: str) -> None:
    print(f'[gpu_check] {line}', flush=True)


# --------------------------------------------------------------- the steps


PROBE = r'''
import importlib, json
out = {}
for name in NAMES:
    try:
        module = importlib.import_module(name)
        out[name] = getattr(module, '__version__', 'present')
    except Exception as error:
        out[name] = None
if out.get('mmcv'):
    try:
        import mmcv.ops  # noqa: F401
        out['mmcv.ops'] = 'present'
    except Exception as error:
        out['mmcv.ops'] = None
print(json.dumps(out))
'''


def probe(ctx: Context, names) -> dict:
    """Versions of ``names`` as a fresh interpreter imports them (None: no)."""
    code = PROBE.replace('NAMES', repr(list(names)))
    return json.loads(last_line(ctx.call([sys.executable, '-c', code])))


def install_step(args) -> Step:
    names = ['mmengine', 'mmseg', 'mmcv'] + list(WHEEL_IMPORTS)

    def ready(found):
        return (all(found.get(n) for n in names) and found.get('mmcv.ops')
                and all(found[k] == v for k, v in VERSIONS.items()))

    def body(ctx):
        found = probe(ctx, names)
        if ready(found):
            return ('found installed: ' + ', '.join(
                f'{k} {found[k]}' for k in VERSIONS) + ' (mmcv.ops imports)')
        missing = sorted(n for n in names if found.get(n) is None)
        if args.dry_run:
            raise StepFailed(f'missing or wrong versions {missing or found}; '
                             '--dry-run installs nothing')
        wheels = osp.abspath(args.wheels)
        if not osp.isdir(wheels):
            raise StepFailed(f'no wheels folder {wheels}: run '
                             'tools/gpu_wheels.sh where the registries are '
                             'reachable and bring the folder along')
        pip = [sys.executable, '-m', 'pip', 'install', '--no-index',
               '--no-deps', '--no-cache-dir', '--find-links', wheels]
        done = []
        if any(found.get(n) is None for n in ['mmengine', 'mmseg'] +
               list(WHEEL_IMPORTS)) or found.get('mmengine') != VERSIONS[
                   'mmengine'] or found.get('mmseg') != VERSIONS['mmseg']:
            files = sorted(
                f for f in glob.glob(osp.join(wheels, '*.whl'))
                if not osp.basename(f).startswith('setuptools-'))
            if not files:
                raise StepFailed(f'no wheels in {wheels}')
            ctx.call(pip + files)
            done.append(f'{len(files)} wheels installed')
        if not (found.get('mmcv') == VERSIONS['mmcv']
                and found.get('mmcv.ops')):
            done.append(build_mmcv(ctx, pip, wheels))
        else:
            done.append('installed mmcv build reused')
        found = probe(ctx, names)
        if not ready(found):
            raise StepFailed(f'still missing after the install: {found}')
        return ', '.join(f'{k} {found[k]}' for k in VERSIONS) + '; ' + \
            '; '.join(done)

    return Step('install', body, timeout_s=600, min_s=30)


def build_mmcv(ctx: Context, pip: List[str], wheels: str) -> str:
    """Compile mmcv 2.1.0 with its (CPU) ops for this machine's torch."""
    archive = sorted(glob.glob(osp.join(wheels, 'mmcv-2.1.0.tar.gz')))
    tools = sorted(glob.glob(osp.join(wheels, 'setuptools-*.whl')))
    if not archive or not tools:
        raise StepFailed(f'{wheels} lacks mmcv-2.1.0.tar.gz or the '
                         'setuptools wheel: run tools/gpu_wheels.sh')
    # mmcv 2.1.0's setup.py imports pkg_resources: setuptools < 70, kept
    # beside the installed one, for the build only
    old = osp.join(osp.abspath(os.environ.get('TMPDIR', '/tmp')),
                   'gpu_check_setuptools')
    ctx.call(pip + ['--target', old, '--upgrade', tools[-1]])
    cores = os.cpu_count() or 1
    env = dict(ctx.env, CUDA_VISIBLE_DEVICES='', FORCE_CUDA='0',
               MMCV_WITH_OPS='1', MAX_JOBS=str(cores),
               PYTHONPATH=old + os.pathsep + ctx.env.get('PYTHONPATH', ''))
    start = time.monotonic()
    ctx.call(pip + ['--no-build-isolation', archive[0]], env=env)
    return (f'mmcv ops built in {time.monotonic() - start:.0f} s '
            f'({cores} jobs, CUDA hidden)')


def benchmark_step(name: str, cmd: List[str], timeout_s: float,
                   min_s: float = 20, needs_data: bool = False) -> Step:
    """A benchmark script; its headline is its last line of stdout."""

    def body(ctx):
        if needs_data:
            require_demo_data()
        return last_line(ctx.call([sys.executable] + cmd))

    return Step(name, body, timeout_s=timeout_s, min_s=min_s)


def require_demo_data() -> None:
    if not osp.exists(osp.join(REPO, DEMO_DATA)):
        raise StepFailed(f'demo data missing ({DEMO_DATA}): bring '
                         'data/fashion_canvas along, or run '
                         'tools/setup_env.sh')


def read_scalars(work_dir: str) -> Dict[int, dict]:
    """Logged training iterations (step -> record) of mmengine's scalars."""
    out = {}
    for path in sorted(glob.glob(
            osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                if 'loss' in record:
                    out[record['step']] = record
    return out


def check_losses(records: Dict[int, dict], steps: range) -> int:
    """Every iteration of ``steps`` logged, every loss finite; loss count."""
    missing = [s for s in steps if s not in records]
    if missing:
        raise StepFailed(f'iterations {missing} not logged')
    count = 0
    for s in steps:
        for key, value in records[s].items():
            if 'loss' in key:
                count += 1
                if not math.isfinite(value):
                    raise StepFailed(f'iteration {s}: {key} = {value}')
    return count


def train_cmd(config: str, work_dir: str, iters: int, args, amp=False,
              resume=False) -> List[str]:
    cmd = [sys.executable, 'tools/train.py', config, '--work-dir', work_dir]
    cmd += ['--amp'] if amp else []
    cmd += ['--resume'] if resume else []
    cmd += [
        '--cfg-options', f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={10 * iters}',
        f'default_hooks.checkpoint.interval={iters}',
        'default_hooks.logger.interval=1', 'val_cfg=None',
        'val_dataloader=None', 'val_evaluator=None', 'randomness.seed=0'
    ]
    if args.dry_run:
        cmd += ['train_dataloader.num_workers=0',
                'train_dataloader.persistent_workers=False']
    return cmd


def train_steps(args, seconds_per_iter: dict) -> List[Step]:
    """fp32 and AMP + resume checks of every demo config."""
    iters = 2 if args.dry_run else 20
    half = iters // 2
    steps = []
    for method, config in distinct_configs().items():
        if args.methods and method not in args.methods:
            continue
        work = osp.join(args.work_dir, 'train', method)

        def fp32(ctx, method=method, config=config, work=work):
            require_demo_data()
            wd = osp.join(work, 'fp32')
            ctx.call(train_cmd(config, wd, iters, args))
            records = read_scalars(wd)
            losses = check_losses(records, range(1, iters + 1))
            times = [records[s]['time'] for s in range(1, iters + 1)]
            steady = times[len(times) // 2:]
            seconds_per_iter[method] = sum(steady) / len(steady)
            return (f'{iters} iterations, {losses} loss values finite, '
                    f'{seconds_per_iter[method]:.3f} s/iter')

        def amp(ctx, method=method, config=config, work=work):
            require_demo_data()
            wd = osp.join(work, 'amp')
            ctx.call(train_cmd(config, wd, half, args, amp=True))
            first = osp.join(wd, f'iter_{half}.pth')
            saved = scaler_state(ctx, first, mark=True)
            if args.device == 'cuda' and not saved:
                raise StepFailed(f'no loss-scaler state in {first}')
            log = ctx.call(train_cmd(config, wd, iters, args, amp=True,
                                     resume=True))
            text = log + output_tail(ctx.log_path, 200000)
            if f'resumed epoch: 0, iter: {half}' not in text:
                raise StepFailed(f'did not resume from iteration {half}')
            losses = check_losses(read_scalars(wd), range(1, iters + 1))
            head = (f'{half} + {iters - half} resumed iterations, {losses} '
                    'loss values finite')
            if not saved:
                return head + '; bfloat16 autocast, no loss scaler (CPU)'
            after = scaler_state(ctx, osp.join(wd, f'iter_{iters}.pth'))
            for name, state in after.items():
                if not carries_mark(state['scale']):
                    raise StepFailed(
                        f'loss scaler {name or "(single)"} not restored: '
                        f'scale {state["scale"]} after the resume, '
                        f'{SCALE_MARK} saved')
            scales = ', '.join(f'{s["scale"]:g}' for s in after.values())
            return (head + f'; loss scale {SCALE_MARK:g} saved, restored '
                    f'({scales} at iteration {iters})')

        steps.append(Step(f'train fp32: {method}', fp32,
                          timeout_s=300 if args.dry_run else 150, min_s=20,
                          parallel=True))
        steps.append(Step(f'train amp + resume: {method}', amp,
                          timeout_s=400 if args.dry_run else 200, min_s=30,
                          parallel=True))
    return steps


SCALER = r'''
import json, sys, torch
path, mark = sys.argv[1], float(sys.argv[2])
ckpt = torch.load(path, map_location='cpu', weights_only=False)
optim = ckpt['optimizer']
wrappers = {'': optim} if 'state' in optim else {
    k: v for k, v in optim.items() if isinstance(v, dict)}
out = {}
for name, state in wrappers.items():
    scaler = state.get('loss_scaler')
    if scaler:
        if mark > 0:
            scaler['scale'] = mark
        out[name] = dict(scale=float(scaler['scale']),
                         growth_tracker=int(scaler.get('_growth_tracker', 0)))
if mark > 0 and out:
    torch.save(ckpt, path)
print(json.dumps(out))
'''


def carries_mark(scale: float) -> bool:
    """Whether ``scale`` is :data:`SCALE_MARK` times a power of two (a
    dynamic scaler only halves or doubles; a fresh one starts at 2^16)."""
    if not scale > 0:
        return False
    ratio = math.log2(scale / SCALE_MARK)
    return abs(ratio - round(ratio)) < 1e-6


def scaler_state(ctx: Context, path: str, mark: bool = False) -> dict:
    """Loss-scaler state per optimiser wrapper of a checkpoint ({}: none).

    With ``mark``, the saved scales are replaced by :data:`SCALE_MARK`.
    """
    if not osp.exists(path):
        raise StepFailed(f'no checkpoint {path}')
    out = ctx.call([sys.executable, '-c', SCALER, path,
                    str(SCALE_MARK if mark else 0)])
    return json.loads(last_line(out))


def accuracy_step(args, seconds_per_iter: dict) -> Step:
    """``benchmarks/accuracy.py`` with the iterations the budget allows."""
    methods = ['supervised'] if args.dry_run else list(ACCURACY_METHODS)

    def body(ctx):
        require_demo_data()
        cmd = [sys.executable, 'benchmarks/accuracy.py', '--device',
               args.device, '--methods', *methods, '--seeds', '0',
               '--work-dir', osp.join(args.work_dir, 'accuracy'),
               '--no-pictures', '--no-relation-graphs', '--jobs',
               str(min(len(methods), args.jobs)), '--rerun']
        if args.dry_run:
            cmd += ['--iters', '2', '--evals', '1', '--val-images', '4',
                    '--pseudo-images', '0']
            iters = 2
        else:
            iters = accuracy_iters(ctx.left(), methods, seconds_per_iter,
                                   args)
            cmd += ['--full', '--iters', str(iters), '--evals', '2']
        note = ''
        if not osp.exists(osp.join(REPO, PRETRAINED)):
            cmd.append('--no-pretrained')
            note = ' (random initial weights: no pre-trained backbone)'
        headline = last_line(ctx.call(cmd))
        return f'{iters} iterations{note}: {headline}'

    return Step('accuracy', body, timeout_s=3600,
                min_s=30 if args.dry_run else 120)


def accuracy_iters(seconds_left: float, methods, seconds_per_iter: dict,
                   args) -> int:
    """Iterations per run that fit ``seconds_left`` (at most 4000).

    Half the time left goes to training, at the s/iter measured by the
    training checks; the rest covers start-up and evaluations.
    """
    fallback = FALLBACK_S_PER_ITER[args.device]
    per_iter = sum(seconds_per_iter.get(m, fallback) for m in methods)
    jobs = min(len(methods), args.jobs)
    iters = int(0.5 * (seconds_left - 60) * jobs / per_iter) // 10 * 10
    if iters < 20:
        raise StepFailed(f'{seconds_left:.0f} s left hold fewer than 20 '
                         'iterations')
    return min(iters, 4000)


def build_steps(args) -> List[Step]:
    dev = ['--device', args.device]
    dry = args.dry_run
    measured: dict = {}
    reco = ['--batch', '1', '--classes', '3', '--size', '8', '--dim', '8',
            '--queries', '4', '--negatives', '8', '--repeats', '1',
            '--warmup', '0'] if dry else []
    cmb = ['--batch', '1', '--classes', '3', '--size', '8', '--dim', '8',
           '--bank-size', '8', '--topk', '2', '--hidden', '8', '--repeats',
           '1', '--warmup', '0'] if dry else []
    step = (['--iters', '1', '--warmup', '0', '--batch-size', '4',
             '--num-workers', '0'] if dry else ['--iters', '20', '--warmup',
                                                '5', '--num-workers', '4'])
    paper = ['--crop', '64'] if dry else ['--batch-size', '20']
    # batch norm needs two images a batch (the labelled half of 4, too)
    peak = ['--batches', '2', '--crop', '64', '64'] if dry else []

    def limit(seconds, dry_s=300):  # a CPU rehearsal: generous limits
        return dry_s if dry else seconds

    return [
        install_step(args),
        benchmark_step('reco_loss', ['benchmarks/reco_loss.py'] + dev + reco,
                       timeout_s=limit(90)),
        benchmark_step('cmb_loss', ['benchmarks/cmb_loss.py'] + dev + cmb,
                       timeout_s=limit(90)),
        benchmark_step('semi_step (paper VOC setting)',
                       ['benchmarks/semi_step.py', '--setting', 'paper'] +
                       dev + step + paper, timeout_s=limit(150),
                       needs_data=True),
        benchmark_step('semi_step (demo setting)',
                       ['benchmarks/semi_step.py'] + dev + step,
                       timeout_s=limit(90), needs_data=True),
        benchmark_step('peak_memory (every method)',
                       ['benchmarks/peak_memory.py', '--methods', 'all'] +
                       dev + peak, timeout_s=limit(180, 600), min_s=30),
    ] + train_steps(args, measured) + [accuracy_step(args, measured)]


# ------------------------------------------------------------------ report


def device_info(env: dict) -> dict:
    code = ('import json, torch; c = torch.cuda.is_available(); '
            'print(json.dumps(dict(torch=torch.__version__, '
            'cuda=torch.version.cuda, gpu=torch.cuda.get_device_name() '
            'if c else None)))')
    proc = subprocess.run([sys.executable, '-c', code], env=env,
                          capture_output=True, text=True, cwd=REPO)
    info = json.loads(last_line(proc.stdout)) if proc.returncode == 0 else {
        'torch': None}
    info.update(python=platform.python_version(), cores=os.cpu_count())
    return info


def write_report(out: str, meta: dict, results: List[dict]) -> None:
    counts = {}
    for res in results:
        counts[res['status']] = counts.get(res['status'], 0) + 1
    report = dict(meta, summary=counts, steps=results)
    os.makedirs(out, exist_ok=True)
    tmp = osp.join(out, 'gpu_check.json.tmp')
    with open(tmp, 'w') as f:
        json.dump(report, f, indent=1)
    os.replace(tmp, osp.join(out, 'gpu_check.json'))
    info = meta['device']
    lines = [
        '# GPU check', '',
        f"{meta['started']}; device {info.get('gpu') or 'cpu'}, torch "
        f"{info.get('torch')} (CUDA {info.get('cuda')}), Python "
        f"{info.get('python')}, {info.get('cores')} cores; "
        f"{'dry run, ' if meta['dry_run'] else ''}budget {meta['budget_s']} s"
        f", {meta.get('wall_s', '?')} s elapsed.", '',
        'Summary: ' + ', '.join(f'{n} {s}' for s, n in counts.items()), '',
        '| step | status | wall (s) | headline |', '| --- | --- | ---: | --- |'
    ]
    for res in results:
        headline = res['headline'].replace('|', '\\|')
        lines.append(f"| {res['name']} | {res['status']} | "
                     f"{res['wall_s']:.1f} | {headline} |")
    for res in results:
        if res.get('output_tail'):
            lines += ['', f"## {res['name']}: {res['status']}", '', '```',
                      res['output_tail'].rstrip(), '```']
    with open(osp.join(out, 'gpu_check.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def pack_logs(logs_dir: str, out: str) -> None:
    with tarfile.open(osp.join(out, 'logs.tar.gz'), 'w:gz') as tar:
        for path in sorted(glob.glob(osp.join(logs_dir, '*.log'))):
            tar.add(path, arcname=osp.join('logs', osp.basename(path)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--wheels', default='wheels',
                        help='folder of tools/gpu_wheels.sh. Default: wheels')
    parser.add_argument('--out', default=None,
                        help='report folder. Default: $OUT when set, else '
                        'work_dirs/gpu_check')
    parser.add_argument('--work-dir', default='work_dirs/gpu_check_runs',
                        help='training runs and logs. Default: '
                        'work_dirs/gpu_check_runs')
    parser.add_argument('--budget-s', type=float, default=None,
                        help='seconds for all steps, the install included. '
                        'Default: 480 (2400 with --dry-run)')
    parser.add_argument('--device', default='cuda', choices=['cuda', 'cpu'])
    parser.add_argument('--dry-run', action='store_true',
                        help='tiny sizes, 2 training iterations, no install')
    parser.add_argument('--methods', nargs='+', default=None,
                        help='training checks of these methods only (keys '
                        'of METHODS in benchmarks/accuracy_methods.py). '
                        'Default: every method with its own demo config')
    parser.add_argument('--jobs', type=int, default=None,
                        help='training checks at a time. Default: 4 on '
                        'CUDA, 1 on CPU')
    args = parser.parse_args(argv)
    if args.budget_s is None:
        args.budget_s = 2400.0 if args.dry_run else 480.0
    if args.budget_s <= 0:
        parser.error('--budget-s must be positive')
    if args.jobs is None:
        args.jobs = 4 if args.device == 'cuda' else 1
    if args.jobs < 1:
        parser.error('--jobs must be at least 1')
    if args.methods:
        unknown = sorted(set(args.methods) - set(distinct_configs()))
        if unknown:
            parser.error(f'unknown methods {unknown}; choose from '
                         f'{list(distinct_configs())}')
    args.out = osp.abspath(args.out or os.environ.get('OUT') or
                           osp.join(REPO, 'work_dirs/gpu_check'))
    args.work_dir = osp.abspath(osp.join(REPO, args.work_dir))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    budget = Budget(args.budget_s)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    start = time.monotonic()
    env = dict(os.environ, PYTHONUNBUFFERED='1',
               PYTHONPATH=os.pathsep.join(
                   p for p in (REPO, os.environ.get('PYTHONPATH')) if p))
    if args.device == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''
        env.setdefault('OMP_NUM_THREADS',
                       str(max(1, (os.cpu_count() or 1) // args.jobs)))
    logs_dir = osp.join(args.work_dir, 'logs')
    os.makedirs(logs_dir, exist_ok=True)
    for old in glob.glob(osp.join(logs_dir, '*.log')):
        os.remove(old)
    meta = dict(
        tool='tools/gpu_check.py', started=datetime.datetime.now().isoformat(
            timespec='seconds'), dry_run=args.dry_run, budget_s=args.budget_s,
        device=device_info(env), requested_device=args.device,
        argv=sys.argv[1:] if argv is None else list(argv))
    if args.device == 'cuda' and not meta['device'].get('gpu'):
        say('warning: torch sees no CUDA device')
    say(f"{'dry run' if args.dry_run else 'check'} on {args.device}, budget "
        f'{args.budget_s:.0f} s, report in {args.out}')
    steps = build_steps(args)

    def update(results):
        meta['wall_s'] = round(time.monotonic() - start, 1)
        write_report(args.out, meta, results)

    results = run_steps(steps, budget, logs_dir, env, jobs=args.jobs,
                        on_result=update)
    update(results)
    pack_logs(logs_dir, args.out)
    passed = sum(r['status'] == PASSED for r in results)
    say(f'{passed} of {len(results)} steps passed in {meta["wall_s"]:.0f} s;'
        f' report: {osp.join(args.out, "gpu_check.md")}')
    return 0 if passed == len(results) else 1


if __name__ == '__main__':
    sys.exit(main())
