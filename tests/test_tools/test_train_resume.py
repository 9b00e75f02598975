"""tools/train.py trains supervised ReCo, and a killed run resumes."""
import glob
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    REPO, 'configs/reco/reco-sup_deeplabv3plus-r18-d8-rep_1xb8-1k_'
    'fashion-canvas-full.py')
DATA = osp.join(REPO, 'data/fashion_canvas/meta.json')

pytestmark = pytest.mark.needs_data(
    DATA, reason='demo data missing: run tools/setup_env.sh')


def train_cmd(work_dir, max_iters, *extra):
    return [
        sys.executable, osp.join(REPO, 'tools/train.py'), CONFIG,
        '--work-dir', str(work_dir), *extra, '--cfg-options',
        f'train_cfg.max_iters={max_iters}',
        f'train_cfg.val_interval={10 * max_iters}',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.checkpoint.max_keep_ckpts=10',
        'default_hooks.logger.interval=1', 'train_dataloader.batch_size=4',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'val_cfg=None',
        'val_dataloader=None', 'val_evaluator=None', 'randomness.seed=0',
        'randomness.deterministic=True', 'env_cfg.cudnn_benchmark=False'
    ]


def scalars(work_dir):
    """Per-iteration training losses from mmengine's scalars.json."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    out = {}
    for path in files:
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if 'loss' in rec:
                    out[rec['step']] = rec
    return out


def test_kill_and_resume_continue_from_saved_iteration(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    work = tmp_path / 'killed'
    proc = subprocess.Popen(
        train_cmd(work, 40), env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    while not (work / 'iter_4.pth').exists():
        assert proc.poll() is None, 'training exited before iteration 4'
        assert time.time() < deadline, 'no checkpoint at iteration 4'
        time.sleep(0.5)
    time.sleep(1.0)  # let the checkpoint file be fully written
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    latest = (work / 'last_checkpoint').read_text().strip()
    saved = int(osp.basename(latest)[len('iter_'):-len('.pth')])
    assert saved >= 4

    resumed = subprocess.run(
        train_cmd(work, saved + 2, '--resume'), env=env, capture_output=True,
        text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    assert f'resumed epoch: 0, iter: {saved}' in log
    assert (work / f'iter_{saved + 2}.pth').exists()
    # the checkpoint loads under torch's weights_only default
    ckpt = torch.load(work / f'iter_{saved + 2}.pth')
    assert ckpt['meta']['iter'] == saved + 2

    # the resumed iterations repeat an uninterrupted run's losses
    ref = tmp_path / 'uninterrupted'
    full = subprocess.run(
        train_cmd(ref, saved + 2), env=env, capture_output=True, text=True,
        timeout=300)
    assert full.returncode == 0, full.stderr[-3000:]
    got, want = scalars(str(work)), scalars(str(ref))
    for step in (saved + 1, saved + 2):
        assert got[step]['loss'] == pytest.approx(want[step]['loss'],
                                                  rel=1e-5)


def test_thirty_iterations_lower_the_loss(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    run = subprocess.run(
        train_cmd(tmp_path, 30), env=env, capture_output=True, text=True,
        timeout=400)
    assert run.returncode == 0, run.stderr[-3000:]
    rec = scalars(str(tmp_path))
    first = sum(rec[i]['decode.loss_ce'] for i in range(1, 6)) / 5
    last = sum(rec[i]['decode.loss_ce'] for i in range(26, 31)) / 5
    assert last < first
    assert all('decode.loss_reco' in rec[i] for i in range(1, 31))
