"""A non-finite loss stops training, naming the iteration and the loss, and
the last checkpoint on disk is the last good one."""
import math
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.logging import MessageHub

from mmseg_reco.engine.hooks.nonfinite_loss_hook import (NonFiniteLossError,
                                                         NonFiniteLossHook)
from reliability_utils import Recorder, requires_demo, small_cfg


class PoisonReCo(Hook):
    """Set the ReCo loss weight to NaN before iteration ``at`` (from 1)."""

    def __init__(self, at: int) -> None:
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at:
            runner.model.decode_head.loss_rep.loss_weight = float('nan')


@requires_demo
def test_training_stops_at_the_first_nan_loss(tmp_path):
    from mmengine.runner import Runner
    cfg = small_cfg('reco-sup', tmp_path, iters=10, checkpoint_interval=2)
    runner = Runner.from_cfg(cfg)
    recorder = Recorder()
    runner.register_hook(recorder)
    # iteration 6 would be saved (interval 2): its checkpoint must not be
    runner.register_hook(PoisonReCo(at=6))
    with pytest.raises(NonFiniteLossError) as info:
        runner.train()
    message = str(info.value)
    assert 'iteration 6' in message
    assert 'decode.loss_reco=nan' in message
    # the finite term is not named
    assert 'loss_ce' not in message
    assert 'iter_4.pth' in message
    assert sorted(recorder.logs) == [1, 2, 3, 4, 5]
    assert not osp.exists(tmp_path / 'iter_6.pth')
    with open(tmp_path / 'last_checkpoint') as f:
        assert f.read().strip().endswith('iter_4.pth')
    state = torch.load(tmp_path / 'iter_4.pth')['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values()
               if v.is_floating_point())


def _runner(values: dict, iteration: int):
    hub = MessageHub.get_instance('nonfinite_loss_test')
    for key, value in values.items():
        hub.update_scalar(f'train/{key}', value)
    return SimpleNamespace(message_hub=hub, iter=iteration)


def test_hook_reads_logged_values_and_names_every_bad_term():
    hook = NonFiniteLossHook()
    good = dict(loss=1.5, sup_loss_ce=1.0, unsup_loss_reco=0.5, acc=math.nan)
    outputs = {k: torch.tensor(v) for k, v in good.items()}
    # a logged statistic without 'loss' in its name is not checked
    hook.after_train_iter(_runner(good, 3), 3, outputs=outputs)

    bad = dict(loss=math.inf, sup_loss_ce=1.0, unsup_loss_reco=math.inf)
    with pytest.raises(NonFiniteLossError,
                       match=r'iteration 8: unsup_loss_reco=inf, loss=inf'):
        hook.after_train_iter(_runner(bad, 7), 7, outputs=bad)


def test_hook_checks_only_the_given_keys():
    hook = NonFiniteLossHook(keys=['sup_loss_ce'])
    values = dict(loss=math.nan, sup_loss_ce=1.0)
    hook.after_train_iter(_runner(values, 0), 0, outputs=values)
