"""Mixed precision: bf16 autocast on CPU for every method.

- On a fixed batch, the losses under ``torch.autocast('cpu', bfloat16)``
  are finite and within ``RTOL`` (relative, per method) + ``ATOL`` of
  float32 with the same random draws. Measured on freshly initialised demo
  models, 4 batches each, 32 and 64 pixel crops: at most 0.24 % for ReCo,
  ReCo + ClassMix, the memory bank and S4GAN; 2.6 % for RC2L, whose class
  loss follows the Hungarian matching, which bf16 costs can change.
- ``tools/train.py --amp`` (its ``enable_amp``) selects
  ``AutocastOptimWrapper`` on a machine without CUDA, and two training
  iterations of every method under it give finite losses.
"""
import copy
import os.path as osp

import pytest
import torch
from mmengine.optim import OptimWrapper

from mmseg_reco.engine.optimizers.autocast_optim_wrapper import \
    AutocastOptimWrapper
from reliability_utils import (METHOD_CONFIGS, REPO, model_and_batch,
                               requires_demo, run, small_cfg)
from repo_scripts import load_script

RTOL = 0.01
#: methods whose losses depend on a discrete matching
RTOL_MATCHING = {'rc2l': 0.05}
ATOL = 1e-3


def losses(model, batch, amp, seed=1):
    torch.manual_seed(seed)
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    with torch.no_grad(), torch.autocast(
            'cpu', dtype=torch.bfloat16, enabled=amp):
        out = model(**data, mode='loss')
    return {k: float(v) for k, v in out.items()}


@requires_demo
@pytest.mark.parametrize('name', list(METHOD_CONFIGS))
def test_bf16_losses_match_float32_on_a_fixed_batch(name):
    model, batch = model_and_batch(name)
    full = losses(model, batch, amp=False)
    half = losses(model, batch, amp=True)
    assert half.keys() == full.keys()
    for key in full:
        assert torch.isfinite(torch.tensor(half[key])), key
        if 'loss' in key:
            rel = RTOL_MATCHING.get(name, RTOL)
            assert half[key] == pytest.approx(full[key], rel=rel,
                                              abs=ATOL), key


def load_enable_amp():
    return load_script('tools/train.py').enable_amp


@requires_demo
@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU bf16 path')
@pytest.mark.parametrize('name', list(METHOD_CONFIGS))
def test_amp_flag_trains_every_method(name, tmp_path):
    cfg = small_cfg(name, tmp_path, iters=2)
    load_enable_amp()(cfg)
    recorder = run(cfg)
    wrapper = recorder.runner.optim_wrapper
    wrappers = wrapper.values() if hasattr(wrapper, 'values') else [wrapper]
    assert all(isinstance(w, AutocastOptimWrapper) for w in wrappers)
    assert sorted(recorder.logs) == [1, 2]
    for step, logs in recorder.logs.items():
        for key, value in logs.items():
            assert torch.isfinite(torch.tensor(value)), (step, key)


def test_autocast_wrapper_runs_the_forward_in_bf16():
    model = torch.nn.Linear(4, 2)
    wrapper = AutocastOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        device_type='cpu')
    with wrapper.optim_context(model):
        out = model(torch.randn(3, 4))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().sum())
    assert model.weight.dtype == torch.float32
    # the same state dict as a plain OptimWrapper
    plain = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    assert wrapper.state_dict().keys() == plain.state_dict().keys()


def test_autocast_wrapper_refuses_float16():
    model = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match='AmpOptimWrapper for float16'):
        AutocastOptimWrapper(
            dtype='float16',
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
