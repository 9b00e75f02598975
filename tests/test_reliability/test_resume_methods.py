"""A run killed after iteration k and resumed repeats the uninterrupted run.

For every method's demo config (FixMatch and UniMatch included: their
strong views, CutMix partners and feature dropout draw from the resumed
random state): losses at iterations k+1..k+5, the images of those batches
(the labelled/unlabelled sampler resumes where it stopped) and the final
model state (student, EMA teacher, memory bank and its pointers,
discriminator) equal an uninterrupted run's with the same seed, bit for
bit on a CPU.
"""
import shutil

import pytest
import torch

from reliability_utils import (METHOD_CONFIGS, SELF_TEACHER_CONFIGS,
                               model_state, requires_demo, run, small_cfg)

pytestmark = requires_demo

KILLED_AFTER = 2
RESUMED = 5
TOTAL = KILLED_AFTER + RESUMED


def _overrides(name, cfg):
    """Method settings that make the short run exercise every state."""
    if name == 'cmb':
        # the contrastive term reads the bank from the first iteration
        for term in cfg.model.method_losses:
            term.warmup_iters = 0
    return cfg


@pytest.mark.parametrize('name',
                         list(METHOD_CONFIGS) + list(SELF_TEACHER_CONFIGS))
def test_resume_repeats_uninterrupted_run(name, tmp_path):
    cfg = _overrides(name,
                     small_cfg(name, tmp_path / 'full', TOTAL))
    # one checkpoint, at iteration k (each costs a config dump)
    cfg.default_hooks.checkpoint.update(
        interval=10 * TOTAL, save_begin=KILLED_AFTER)
    full = run(cfg)

    # the run killed right after iteration k left iter_k.pth and
    # last_checkpoint in its work_dir: the same files as the uninterrupted
    # run's at iteration k (tests/test_tools/test_train_resume.py kills a
    # real process with SIGKILL)
    killed = tmp_path / 'killed'
    killed.mkdir()
    ckpt = f'iter_{KILLED_AFTER}.pth'
    shutil.copy(tmp_path / 'full' / ckpt, killed / ckpt)
    (killed / 'last_checkpoint').write_text(str(killed / ckpt))
    # it loads under torch's weights_only default (teacher, bank, optimiser
    # states, message hub)
    assert torch.load(killed / ckpt)['meta']['iter'] == KILLED_AFTER
    cfg.work_dir = str(killed)
    resumed = run(cfg, resume=True)

    steps = list(range(KILLED_AFTER + 1, TOTAL + 1))
    assert sorted(resumed.logs) == steps
    for step in steps:
        # the same images: the sampler resumed where it stopped
        assert resumed.images[step] == full.images[step], step
        got, want = resumed.logs[step], full.logs[step]
        assert got.keys() == want.keys()
        for key in want:
            assert got[key] == want[key], (step, key, got[key], want[key])

    got, want = model_state(resumed.runner), model_state(full.runner)
    assert got.keys() == want.keys()
    for key in want:
        assert torch.equal(got[key], want[key]), key
