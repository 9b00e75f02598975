"""The S4GAN demo config trains, evaluates and resumes via tools/train.py."""
import math
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest
import torch

CONFIG = ('configs/s4gan/s4gan_deeplabv3plus-r18-d8_1xb4-1k_'
          'fashion-canvas-60lab.py')
# single-process loaders and a 4-image validation keep the runs short
FAST = {
    'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
    'val_dataloader.num_workers': 0,
    'val_dataloader.persistent_workers': False,
    'val_dataloader.dataset.indices': 4,
    'default_hooks.logger.interval': 1,
    'default_hooks.checkpoint.interval': 2,
}


@pytest.fixture
def demo_root(repo_root, require_data):
    require_data(osp.join(repo_root, 'data', 'fashion_canvas'),
                 'demo data missing: python tools/prepare_demo.py')
    return repo_root


def train(repo_root, work_dir, max_iters, *args):
    options = dict(FAST)
    options['train_cfg.max_iters'] = max_iters
    options['train_cfg.val_interval'] = max_iters
    cmd = [
        sys.executable, 'tools/train.py', CONFIG, '--work-dir',
        str(work_dir), *args, '--cfg-options',
        *(f'{k}={v}' for k, v in options.items())
    ]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        cmd, cwd=repo_root, env=env, capture_output=True, text=True,
        timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    return log


def logged(log, key):
    """Every value logged for ``key`` in training lines."""
    return [float(v) for v in re.findall(rf'\s{re.escape(key)}: (\S+)', log)]


def assert_states_close(a, b, path='optimizer'):
    """Nested optimiser state dicts hold the same values."""
    if isinstance(a, torch.Tensor):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6, msg=path)
    elif isinstance(a, dict):
        assert set(a) == set(b), path
        for key in a:
            assert_states_close(a[key], b[key], f'{path}.{key}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_states_close(x, y, f'{path}[{i}]')
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-4), path
    else:
        assert a == b, path


# slow: the default suite covers S4GAN resume in
# tests/test_reliability/test_resume_methods.py
@pytest.mark.slow
def test_four_iterations_then_resume_restores_both_optimisers(
        demo_root, tmp_path):
    first = tmp_path / 'first'
    log = train(demo_root, first, 4)
    for key in ('sup_decode.loss_ce', 'unsup_loss_fm', 'unsup_loss_st',
                'disc_loss_fake', 'disc_loss_real', 'disc_loss'):
        values = logged(log, key)
        assert len(values) == 4 and all(map(math.isfinite, values)), key
    assert logged(log, 'discriminator.lr') and logged(log, 'student.lr')
    assert 'mIoU' in log
    first_losses = {k: logged(log, k) for k in ('loss', 'disc_loss')}
    # the checkpoint loads under torch's weights_only default
    ckpt2 = torch.load(first / 'iter_2.pth', map_location='cpu')
    assert set(ckpt2['optimizer']) == {'student', 'discriminator'}
    assert set(ckpt2['param_schedulers']) == {'student', 'discriminator'}
    adam = ckpt2['optimizer']['discriminator']
    assert all(s['step'] == 2 for s in adam['state'].values())
    assert any(k.startswith('discriminator.') for k in ckpt2['state_dict'])

    # resume from iteration 2 in a fresh work dir: iterations 3 and 4 run
    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    shutil.copy(first / 'iter_2.pth', resumed / 'iter_2.pth')
    (resumed / 'last_checkpoint').write_text(str(resumed / 'iter_2.pth'))
    log = train(demo_root, resumed, 4, '--resume')
    assert 'resumed' in log.lower()
    assert re.search(r'Iter\(train\) \[3/4\]', log)
    assert not re.search(r'Iter\(train\) \[1/4\]', log)
    ckpt4 = torch.load(resumed / 'iter_4.pth', map_location='cpu')
    adam = ckpt4['optimizer']['discriminator']
    assert all(s['step'] == 4 for s in adam['state'].values())
    sgd = ckpt4['optimizer']['student']
    assert sgd['state'] and all('momentum_buffer' in s
                                for s in sgd['state'].values())
    # iterations 3 and 4 repeat the uninterrupted run (RandomStateHook)
    for key, values in first_losses.items():
        assert logged(log, key) == pytest.approx(values[2:], rel=1e-4), key
    ref4 = torch.load(first / 'iter_4.pth', map_location='cpu')
    assert_states_close(ckpt4['optimizer'], ref4['optimizer'])


@pytest.mark.slow
def test_twenty_iterations_train_and_evaluate(demo_root, tmp_path):
    log = train(demo_root, tmp_path, 20)
    assert len(logged(log, 'disc_loss')) == 20
    assert all(map(math.isfinite, logged(log, 'loss')))
    miou = logged(log, 'mIoU')
    assert miou and 0 <= miou[-1] <= 100
