"""tools/gpu_check.py: the step budget, the report, and a CPU dry run."""
import json
import os
import os.path as osp
import subprocess
import sys
import time

import pytest
import torch

from repo_scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = osp.join(REPO, 'data/fashion_canvas/meta.json')


gc = load_script('tools/gpu_check.py')


class FakeClock:
    """A clock the steps move forward by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def python_step(name, code, timeout_s=30.0, min_s=0.0):
    """A step that runs ``python -c code`` and takes its last line."""

    def body(ctx):
        return gc.last_line(ctx.call([sys.executable, '-c', code]))

    return gc.Step(name, body, timeout_s=timeout_s, min_s=min_s)


def test_step_past_its_timeout_is_timed_out_and_killed(tmp_path):
    marker = tmp_path / 'finished'
    code = f'import time; time.sleep(20); open({str(marker)!r}, "w")'
    step = python_step('sleeper', code, timeout_s=1.0)
    start = time.monotonic()
    res = gc.run_step(step, gc.Budget(600), str(tmp_path), dict(os.environ))
    assert res['status'] == gc.TIMED_OUT
    assert res['headline'] == 'stopped at its limit (1 s)'
    assert time.monotonic() - start < 10
    time.sleep(0.5)
    assert not marker.exists()


def test_step_cut_by_the_budget_is_timed_out_at_the_budget(tmp_path):
    step = python_step('sleeper', 'import time; time.sleep(20)',
                       timeout_s=100.0)
    res = gc.run_step(step, gc.Budget(1.5), str(tmp_path), dict(os.environ))
    assert res['status'] == gc.TIMED_OUT
    assert "budget's end" in res['headline']
    assert res['timeout_s'] <= 1.5


def test_step_with_no_budget_left_is_not_run(tmp_path):
    called = []

    def body(ctx):
        called.append(1)
        return 'ran'

    clock = FakeClock()
    budget = gc.Budget(100, clock=clock)
    clock.now = 95.0
    res = gc.run_step(gc.Step('late', body, timeout_s=60, min_s=10), budget,
                      str(tmp_path), dict(os.environ))
    assert res['status'] == gc.NOT_RUN
    assert res['headline'] == '5 s of the budget left, needs at least 10 s'
    assert res['wall_s'] == 0.0
    assert called == []


def test_later_steps_are_skipped_once_the_budget_is_spent(tmp_path):
    clock = FakeClock()
    budget = gc.Budget(120, clock=clock)

    def slow(ctx):
        clock.now += 100.0  # the first step takes 100 of the 120 s
        return 'took 100 s'

    steps = [
        gc.Step('first', slow, timeout_s=200, min_s=10),
        gc.Step('small', lambda ctx: 'fits', timeout_s=60, min_s=15),
        gc.Step('big', lambda ctx: 'never', timeout_s=60, min_s=30),
    ]
    seen = []
    results = gc.run_steps(steps, budget, str(tmp_path), dict(os.environ),
                           on_result=lambda r: seen.append(len(r)))
    assert [r['status'] for r in results] == [gc.PASSED, gc.PASSED,
                                              gc.NOT_RUN]
    assert results[1]['timeout_s'] == 20.0  # cut to the budget left
    assert seen == [1, 2, 3]  # the report is rewritten after every step


def test_headline_is_the_last_line_and_a_failure_keeps_its_output(tmp_path):
    ok = python_step('ok', 'print("table"); print("speed-up: 3.0x")')
    bad = python_step(
        'bad', 'import sys; print("ValueError: oops", file=sys.stderr); '
        'sys.exit(3)')
    silent = python_step('silent', 'pass')
    results = gc.run_steps([ok, bad, silent], gc.Budget(600), str(tmp_path),
                           dict(os.environ))
    assert results[0]['status'] == gc.PASSED
    assert results[0]['headline'] == 'speed-up: 3.0x'
    assert results[1]['status'] == gc.FAILED
    assert results[1]['headline'] == (
        f'{osp.basename(sys.executable)} exited with status 3: '
        'ValueError: oops')
    assert 'oops' in results[1]['output_tail']
    assert results[2]['status'] == gc.FAILED
    assert results[2]['headline'] == 'no headline printed'


def test_demo_configs_are_the_accuracy_tables_one_method_per_config():
    accuracy = load_script('benchmarks/accuracy.py')
    table = gc.distinct_configs()
    configs = [config for _, config in accuracy.METHODS.values()]
    assert sorted(set(table.values())) == sorted(set(configs))
    assert len(table) == len(set(configs))
    assert 'supervised-full' not in table  # shares Supervised's config
    assert 'classmix-joint' not in table  # shares ClassMix's
    assert table['reco'] == accuracy.METHODS['reco'][1]
    assert list(table)[:3] == ['supervised', 'cutout', 'cutmix']
    assert all(osp.exists(osp.join(REPO, c)) for c in table.values())


def test_accuracy_iterations_fit_the_time_left():
    args = gc.parse_args(['--device', 'cuda', '--jobs', '3'])
    measured = dict(supervised=0.25, classmix=0.125, reco=0.125)
    methods = ['supervised', 'classmix', 'reco']
    # half of (400 - 60) s, 3 runs at a time, 0.5 s per round of iterations
    assert gc.accuracy_iters(400, methods, measured, args) == 1020
    assert gc.accuracy_iters(10_000, methods, measured, args) == 4000
    with pytest.raises(gc.StepFailed, match='fewer than 20 iterations'):
        gc.accuracy_iters(63, methods, measured, args)


def test_only_a_restored_scale_carries_the_mark():
    mark = gc.SCALE_MARK
    for scale in (mark, mark / 2, mark / 64, mark * 2):
        assert gc.carries_mark(scale)
    for scale in (65536.0, 1024.0, 512.0, 0.0, float('nan')):
        assert not gc.carries_mark(scale)


@pytest.mark.parametrize('wrappers', [None, ('student', 'discriminator')])
def test_scaler_state_reads_and_marks_every_wrapper(tmp_path, wrappers):
    def wrapper_state(scale):
        return dict(state={}, param_groups=[], loss_scaler=dict(
            scale=scale, growth_factor=2.0, backoff_factor=0.5,
            growth_interval=2000, _growth_tracker=7))

    if wrappers is None:
        optimizer = wrapper_state(65536.0)
    else:
        optimizer = {name: wrapper_state(2.0**(10 + i))
                     for i, name in enumerate(wrappers)}
    path = str(tmp_path / 'iter_10.pth')
    torch.save(dict(optimizer=optimizer), path)
    ctx = gc.Context(time.monotonic() + 120, str(tmp_path / 'log'),
                     dict(os.environ))
    names = [''] if wrappers is None else list(wrappers)
    before = gc.scaler_state(ctx, path)
    assert sorted(before) == sorted(names)
    assert all(s['growth_tracker'] == 7 for s in before.values())
    assert not any(gc.carries_mark(s['scale']) for s in before.values())
    marked = gc.scaler_state(ctx, path, mark=True)
    assert all(s['scale'] == gc.SCALE_MARK for s in marked.values())
    assert gc.scaler_state(ctx, path) == marked  # written back


def test_scaler_state_of_a_checkpoint_without_scaler_is_empty(tmp_path):
    path = str(tmp_path / 'iter_1.pth')
    torch.save(dict(optimizer=dict(state={}, param_groups=[])), path)
    ctx = gc.Context(time.monotonic() + 120, str(tmp_path / 'log'),
                     dict(os.environ))
    assert gc.scaler_state(ctx, path) == {}
    with pytest.raises(gc.StepFailed, match='no checkpoint'):
        gc.scaler_state(ctx, str(tmp_path / 'missing.pth'))


def test_unknown_method_is_refused(capsys):
    with pytest.raises(SystemExit):
        gc.parse_args(['--methods', 'recoo'])
    assert "unknown methods ['recoo']" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.needs_data(DATA,
                        reason='demo data missing: run tools/setup_env.sh')
def test_cpu_dry_run_passes_every_step(tmp_path):
    out, work = tmp_path / 'out', tmp_path / 'work'
    env = dict(os.environ, PYTHONPATH=REPO, PYTHON=sys.executable)
    env.pop('OUT', None)
    proc = subprocess.run(
        ['bash', osp.join(REPO, 'tools/gpu_check.sh'), '--device', 'cpu',
         '--dry-run', '--methods', 'supervised', 'reco', '--out', str(out),
         '--work-dir', str(work)],
        env=env, capture_output=True, text=True, timeout=3000)
    report = json.loads((out / 'gpu_check.json').read_text())
    steps = {s['name']: s for s in report['steps']}
    expected = [
        'install', 'reco_loss', 'cmb_loss', 'semi_step (paper VOC setting)',
        'semi_step (demo setting)', 'peak_memory (every method)',
        'train fp32: supervised', 'train amp + resume: supervised',
        'train fp32: reco', 'train amp + resume: reco', 'accuracy'
    ]
    assert list(steps) == expected
    for name in expected:
        assert steps[name]['status'] == gc.PASSED, (name, steps[name])
        assert steps[name]['headline'], name
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'resumed' in steps['train amp + resume: reco']['headline']
    assert steps['peak_memory (every method)']['headline'].startswith(
        'highest measured peak')
    assert report['summary'] == {gc.PASSED: len(expected)}
    md = (out / 'gpu_check.md').read_text()
    assert '| train fp32: reco | passed |' in md
    assert (out / 'logs.tar.gz').stat().st_size > 0
