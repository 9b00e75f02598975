import os
import os.path as osp
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn as nn
from torch.utils.data import ConcatDataset

from mmseg_reco.datasets.fashion_canvas_builder import build_demo
from mmseg_reco.engine.hooks.memory_bank_hook import MemoryBankHook
from mmseg_reco.models.utils.memory_bank import ClassMemoryBank

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'cmb',
                  'cmb_deeplabv3plus-r18-d8_1xb4-1k_fashion-canvas-60lab.py')


class _Term(nn.Module):
    """A bank-holding method term: records what the hook asks of it."""

    def __init__(self, num_labelled_images=None):
        super().__init__()
        self.bank = ClassMemoryBank(2, 2, 2)
        self.num_labelled_images = num_labelled_images
        self.topk = None
        self.collect = None
        self.pushes = 0

    def set_collect(self, collect):
        self.collect = collect

    def push_candidates(self):
        self.pushes += 1


def _runner(term, labelled=5):
    model = nn.Module()
    model.method_losses = nn.ModuleList([term])
    dataset = ConcatDataset([list(range(labelled)), list(range(7))])
    return SimpleNamespace(
        model=model,
        iter=0,
        train_dataloader=SimpleNamespace(dataset=dataset))


def test_schedule_and_push_after_each_collecting_step():
    term = _Term()
    runner = _runner(term)
    hook = MemoryBankHook(start_iter=2, interval=2)
    hook.before_train(runner)
    assert term.num_labelled_images == 5  # |X_l| from the labelled dataset
    collected = []
    for it in range(7):
        runner.iter = it
        hook.before_train_iter(runner, it)
        collected.append(term.collect)
        hook.after_train_iter(runner, it)
    assert collected == [False, False, True, False, True, False, True]
    assert term.pushes == 7  # nothing is pushed when nothing was collected


def test_explicit_size_wins_and_missing_bank_is_an_error():
    term = _Term(num_labelled_images=9)
    MemoryBankHook(num_labelled_images=3).before_train(_runner(term))
    assert term.num_labelled_images == 9  # the term's own value is kept
    term = _Term()
    MemoryBankHook(num_labelled_images=3).before_train(_runner(term))
    assert term.num_labelled_images == 3
    runner = _runner(_Term())
    runner.model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match='no module with a memory bank'):
        MemoryBankHook().before_train(runner)
    with pytest.raises(ValueError):
        MemoryBankHook(interval=0)


# ----------------------------------------------------------------------
# tools/train.py on a tiny demo set
@pytest.fixture(scope='module')
def tiny_canvas(tmp_path_factory):
    """12 train / 4 val canvases; 4 labelled, 8 unlabelled."""
    rng = np.random.default_rng(0)
    images = np.zeros((30, 28, 28), np.uint8)
    images[:, 4:24, 6:22] = rng.integers(1, 256, (30, 20, 16))
    labels = rng.integers(0, 10, 30).astype(np.uint8)
    root = tmp_path_factory.mktemp('fashion_canvas')
    build_demo(
        out_dir=str(root), num_train=12, num_val=4,
        data=dict(train=(images, labels), val=(images, labels)),
        verbose=False)
    stems = (root / 'splits' / 'train.txt').read_text().split()
    (root / 'splits' / 'labelled-4.txt').write_text('\n'.join(stems[:4]))
    (root / 'splits' / 'unlabelled-8.txt').write_text('\n'.join(stems[4:]))
    return str(root)


def _train(root, work_dir, iters, ckpt_interval=None, resume=False):
    options = [
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={iters}',
        'default_hooks.logger.interval=1',
        f'default_hooks.checkpoint.interval={ckpt_interval or iters}',
        'default_hooks.checkpoint.max_keep_ckpts=3',
        'train_dataloader.batch_size=4',
        'train_dataloader.sampler.batch_size=4',
        'train_dataloader.sampler.num_labelled=2',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        f'train_dataloader.dataset.datasets.0.data_root={root}',
        'train_dataloader.dataset.datasets.0.ann_file=splits/labelled-4.txt',
        f'train_dataloader.dataset.datasets.1.data_root={root}',
        'train_dataloader.dataset.datasets.1.ann_file='
        'splits/unlabelled-8.txt',
        'train_dataloader.dataset.datasets.1.img_suffix=.png',
        f'val_dataloader.dataset.data_root={root}',
        # a random network is never confident: let every correct
        # prediction into the bank and start the losses at once
        'model.method_losses.0.conf_threshold=0.0',
        'model.method_losses.0.warmup_iters=0',
        'env_cfg.cudnn_benchmark=False',
    ]
    cmd = [
        sys.executable,
        osp.join(REPO, 'tools', 'train.py'), CONFIG, '--work-dir',
        str(work_dir), '--cfg-options'
    ] + options
    if resume:
        cmd.append('--resume')
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    proc = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _bank(path):
    state = torch.load(path, map_location='cpu', weights_only=False)
    prefix = 'method_losses.0.bank.'
    return {
        k[len(prefix):]: v
        for k, v in state['state_dict'].items() if k.startswith(prefix)
    }


def _train_losses(log):
    return [
        float(m) for m in re.findall(r'unsup_loss_cmb_contr: ([0-9.]+)', log)
    ]


# slow: the default suite trains the demo config in
# tests/test_reliability (resume, DDP, AMP)
@pytest.mark.slow
def test_demo_config_trains_fills_the_bank_and_evaluates(
        tiny_canvas, tmp_path):
    log = _train(tiny_canvas, tmp_path, iters=3)
    contr = _train_losses(log)
    assert len(contr) == 3
    assert contr[0] == 0 and contr[-1] > 0  # bank empty, then filled
    assert 'mIoU' in log
    bank = _bank(tmp_path / 'iter_3.pth')
    assert set(bank) == {'bank', 'ptr', 'count'}
    assert 0 < int(bank['count'].sum())
    assert int(bank['count'].max()) <= 256


@pytest.mark.slow
def test_twenty_iterations_and_exact_resume_of_the_bank(
        tiny_canvas, tmp_path):
    full = tmp_path / 'full'
    log = _train(tiny_canvas, full, iters=20, ckpt_interval=10)
    assert len(_train_losses(log)) == 20
    # resume from iteration 10 in a fresh work dir
    part = tmp_path / 'part'
    part.mkdir()
    ckpt = part / 'iter_10.pth'
    ckpt.write_bytes((full / 'iter_10.pth').read_bytes())
    (part / 'last_checkpoint').write_text(str(ckpt))
    log = _train(tiny_canvas, part, iters=20, resume=True)
    assert len(_train_losses(log)) == 10
    resumed, uninterrupted = (_bank(part / 'iter_20.pth'),
                              _bank(full / 'iter_20.pth'))
    for key in ('bank', 'ptr', 'count'):
        assert torch.equal(resumed[key], uninterrupted[key]), key
