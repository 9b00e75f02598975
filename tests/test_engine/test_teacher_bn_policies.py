"""MeanTeacherHook buffer policies: the teacher's BatchNorm statistics after
a few steps against hand-computed values, with a teacher that labels in
train mode (skip, ema, copy, precise), and precise BN itself."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseDataPreprocessor, BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from mmseg_reco.engine.hooks.precise_bn import (precise_bn_stats,
                                                update_bn_stats)

CHANNELS = 3
NUM_SAMPLES = 12
BATCH = 4
STEPS = 3
BN_MOMENTUM = 0.1


class _Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(CHANNELS, CHANNELS)
        self.bn = nn.BatchNorm1d(CHANNELS)

    def forward(self, x):
        return self.bn(self.linear(x))


class _Stack(BaseDataPreprocessor):

    def forward(self, data, training=False):
        data = super().forward(data, training)
        if isinstance(data['inputs'], list):
            data['inputs'] = torch.stack(data['inputs'])
        return data


class _LabellingTeacherModel(BaseModel):
    """The teacher labels each batch in train mode (no grad) before the
    student regresses to its labels and to the targets."""

    def __init__(self):
        super().__init__(data_preprocessor=_Stack())
        self.student = _Net()
        self.teacher = _Net()
        self.teacher.requires_grad_(False)
        self.losses = []

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if isinstance(inputs, list):
            inputs = torch.stack(inputs)
        if mode == 'loss':
            with torch.no_grad():
                labels = self.teacher(inputs)
            out = self.student(inputs)
            loss = ((out - data_samples)**2).mean() + (
                (out - labels)**2).mean()
            self.losses.append(loss.item())
            return dict(loss=loss)
        if mode == 'predict':
            return list(self.student(inputs))
        return self.student(inputs)


class _Regression(Dataset):

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.x = 3 * torch.randn(NUM_SAMPLES, CHANNELS, generator=g) + 1
        self.y = torch.randn(NUM_SAMPLES, CHANNELS, generator=g)

    def __len__(self):
        return NUM_SAMPLES

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], data_samples=self.y[idx])


class _ConstantMetric(BaseMetric):

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        return dict(score=1.0)


class _Recorder(Hook):
    """After the mean-teacher hook: the student's buffers after each step
    and the teacher's at every validation; the inputs of the teacher's
    BatchNorm on every pass, with whether it was a precise-BN pass
    (``momentum=None``)."""

    priority = 'LOW'

    def __init__(self):
        self.student = []
        self.teacher_at_val = []
        self.bn_inputs = []

    def before_train(self, runner):
        model = runner.model
        self.teacher_at_start = copy.deepcopy(model.teacher.state_dict())

        def record(module, args):
            self.bn_inputs.append((args[0].detach().clone(),
                                   module.momentum is None))

        model.teacher.bn.register_forward_pre_hook(record)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.student.append(copy.deepcopy(runner.model.student.state_dict()))

    def before_val(self, runner):
        self.teacher_at_val.append(
            copy.deepcopy(runner.model.teacher.state_dict()))


class _Shifted(_Regression):
    """A second source whose inputs lie far from the first's."""

    def __init__(self, shift=100.0):
        super().__init__()
        self.x = self.x + shift


def _runner(tmp_path, name, hook_cfg, recorder, val_interval=None,
            checkpoint_interval=None, dataset=None):
    torch.manual_seed(0)
    loader = dict(dataset=dataset if dataset is not None else _Regression(),
                  sampler=dict(type='InfiniteSampler', shuffle=True),
                  batch_size=BATCH,
                  num_workers=0,
                  collate_fn=dict(type='default_collate'))
    val = {}
    if val_interval is not None:
        val = dict(val_dataloader=dict(loader,
                                       sampler=dict(type='DefaultSampler',
                                                    shuffle=False)),
                   val_cfg=dict(),
                   val_evaluator=[_ConstantMetric()])
    checkpoint = None
    if checkpoint_interval is not None:
        checkpoint = dict(type='CheckpointHook',
                          interval=checkpoint_interval,
                          by_epoch=False)
    return Runner(
        model=_LabellingTeacherModel(),
        work_dir=str(tmp_path / name),
        experiment_name=f'{tmp_path.name}_{name}',
        train_dataloader=loader,
        train_cfg=dict(by_epoch=False,
                       max_iters=STEPS,
                       val_interval=val_interval or STEPS + 1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        custom_hooks=[dict(type='MeanTeacherHook', **hook_cfg), recorder],
        default_hooks=dict(checkpoint=checkpoint),
        randomness=dict(seed=0),
        default_scope='mmseg',
        **val)


def _batch_stats(x):
    """Per-channel mean and unbiased variance, in float64."""
    x = x.double()
    return x.mean(0), x.var(0, unbiased=True)


def _momentum_step(buffers, x):
    mean, var = _batch_stats(x)
    return dict(
        mean=(1 - BN_MOMENTUM) * buffers['mean'] + BN_MOMENTUM * mean,
        var=(1 - BN_MOMENTUM) * buffers['var'] + BN_MOMENTUM * var)


def _start(recorder):
    return dict(mean=recorder.teacher_at_start['bn.running_mean'].double(),
                var=recorder.teacher_at_start['bn.running_var'].double())


def _assert_bn(bn, mean, var, atol=1e-6):
    torch.testing.assert_close(bn.running_mean.double(), mean, atol=atol,
                               rtol=0)
    torch.testing.assert_close(bn.running_var.double(), var, atol=atol,
                               rtol=0)


def test_skip_keeps_the_teachers_own_train_mode_statistics(tmp_path):
    recorder = _Recorder()
    runner = _runner(tmp_path, 'skip', dict(buffers='skip'), recorder)
    runner.train()
    passes = [x for x, precise in recorder.bn_inputs if not precise]
    assert len(passes) == STEPS
    expected = _start(recorder)
    for x in passes:
        expected = _momentum_step(expected, x)
    bn = runner.model.teacher.bn
    _assert_bn(bn, expected['mean'], expected['var'])
    assert int(bn.num_batches_tracked) == STEPS
    # not the student's statistics
    assert not torch.allclose(bn.running_mean,
                              runner.model.student.bn.running_mean)


def test_ema_averages_buffers_with_the_weights_decay(tmp_path):
    decay = 0.7
    recorder = _Recorder()
    runner = _runner(tmp_path, 'ema', dict(buffers='ema', decay=decay),
                     recorder)
    runner.train()
    passes = [x for x, precise in recorder.bn_inputs if not precise]
    expected = _start(recorder)
    for x, student in zip(passes, recorder.student):
        # the teacher's own pass (momentum 0.1), then the hook's average
        expected = _momentum_step(expected, x)
        expected = dict(
            mean=decay * expected['mean'] +
            (1 - decay) * student['bn.running_mean'].double(),
            var=decay * expected['var'] +
            (1 - decay) * student['bn.running_var'].double())
    bn = runner.model.teacher.bn
    _assert_bn(bn, expected['mean'], expected['var'])
    # num_batches_tracked is copied
    assert int(bn.num_batches_tracked) == int(
        runner.model.student.bn.num_batches_tracked) == STEPS


def test_copy_gives_the_teacher_the_students_buffers(tmp_path):
    recorder = _Recorder()
    runner = _runner(tmp_path, 'copy', dict(buffers='copy'), recorder)
    runner.train()
    teacher, student = runner.model.teacher.bn, runner.model.student.bn
    for name in ('running_mean', 'running_var', 'num_batches_tracked'):
        assert torch.equal(getattr(teacher, name), getattr(student, name))
    # the teacher's own pass moved its statistics before each copy
    assert not torch.equal(teacher.running_mean, torch.zeros(CHANNELS))


@pytest.mark.parametrize('num_batches', [2, 5])
def test_precise_is_the_mean_of_the_batch_statistics_it_was_fed(
        tmp_path, num_batches):
    recorder = _Recorder()
    runner = _runner(
        tmp_path, f'precise{num_batches}',
        dict(buffers='precise', precise_batches=num_batches),
        recorder, val_interval=STEPS, checkpoint_interval=STEPS)
    runner.train()
    fed = [x for x, precise in recorder.bn_inputs if precise]
    # estimated once, for the checkpoint after the last update; the
    # validation and the end of training reuse the estimate
    assert len(fed) == num_batches
    assert all(x.shape[0] == BATCH for x in fed)
    stats = [_batch_stats(x) for x in fed]
    mean = torch.stack([m for m, _ in stats]).mean(0)
    var = torch.stack([v for _, v in stats]).mean(0)
    bn = runner.model.teacher.bn
    _assert_bn(bn, mean, var)
    assert int(bn.num_batches_tracked) == num_batches
    assert bn.momentum == BN_MOMENTUM and bn.training
    # evaluated and saved with them
    assert len(recorder.teacher_at_val) == 1
    for key in ('bn.running_mean', 'bn.running_var'):
        assert torch.equal(recorder.teacher_at_val[0][key],
                           runner.model.teacher.state_dict()[key])
    saved = torch.load(str(tmp_path / f'precise{num_batches}' /
                           f'iter_{STEPS}.pth'),
                       map_location='cpu')['state_dict']
    assert torch.equal(saved['teacher.bn.running_mean'], bn.running_mean)
    assert torch.equal(saved['teacher.bn.running_var'], bn.running_var)
    # precise statistics are not an EMA of the same batches
    ema = dict(mean=torch.zeros(CHANNELS, dtype=torch.float64),
               var=torch.ones(CHANNELS, dtype=torch.float64))
    for x in fed:
        ema = _momentum_step(ema, x)
    assert not torch.allclose(bn.running_mean.double(), ema['mean'])


def test_training_is_the_same_under_every_policy(tmp_path):
    losses, students = {}, {}
    for policy in ('skip', 'ema', 'copy', 'precise'):
        runner = _runner(tmp_path, policy,
                         dict(buffers=policy, precise_batches=2),
                         _Recorder(), val_interval=2, checkpoint_interval=2)
        runner.train()
        losses[policy] = runner.model.losses
        students[policy] = runner.model.student.state_dict()
    assert len(losses['skip']) == STEPS
    for policy in ('ema', 'copy', 'precise'):
        assert losses[policy] == losses['skip'], policy
        for key, value in students['skip'].items():
            assert torch.equal(students[policy][key], value), (policy, key)


def test_update_bn_stats_keeps_modes_and_unreached_layers():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3), nn.Dropout(0.5))
    unused = nn.BatchNorm1d(3)
    net.add_module('unused', unused)
    unused.running_mean.fill_(5.)
    net.eval()
    batches = [torch.randn(6, 3) for _ in range(3)]
    seen = []
    net[2].register_forward_pre_hook(
        lambda m, args: seen.append(m.training))

    def forward(module, x):
        return module[2](module[1](module[0](x)))

    assert update_bn_stats(net, iter(batches), forward) == 3
    # dropout stayed off during the estimate; modes restored
    assert seen == [False] * 3
    assert not any(m.training for m in net.modules())
    with torch.no_grad():
        feats = [net[0](x).double() for x in batches]
    torch.testing.assert_close(net[1].running_mean.double(),
                               torch.stack([f.mean(0) for f in feats]).mean(0),
                               atol=1e-6, rtol=0)
    assert torch.equal(unused.running_mean, torch.full((3, ), 5.))
    assert int(unused.num_batches_tracked) == 0


def test_precise_estimate_is_repeatable_and_leaves_random_state():
    import random

    import numpy as np
    model = _LabellingTeacherModel()
    dataset = _Regression()
    torch.manual_seed(3)
    np.random.seed(3)
    random.seed(3)
    states = (torch.get_rng_state(), np.random.get_state()[1].copy(),
              random.getstate())
    precise_bn_stats(model.teacher, dataset, model.data_preprocessor, 4, 4)
    first = model.teacher.bn.running_var.clone()
    assert torch.equal(torch.get_rng_state(), states[0])
    assert (np.random.get_state()[1] == states[1]).all()
    assert random.getstate() == states[2]
    model.teacher.bn.reset_running_stats()
    precise_bn_stats(model.teacher, dataset, model.data_preprocessor, 4, 4)
    assert torch.equal(model.teacher.bn.running_var, first)
    with pytest.raises(ValueError, match='num_batches'):
        precise_bn_stats(model.teacher, dataset, model.data_preprocessor, 0,
                         4)


def test_bad_precise_settings_are_refused():
    from mmseg_reco.engine.hooks import MeanTeacherHook
    with pytest.raises(ValueError, match='precise_batches'):
        MeanTeacherHook(buffers='precise', precise_batches=0)
    with pytest.raises(ValueError, match='buffers must be one of'):
        MeanTeacherHook(buffers='precice')
    with pytest.raises(ValueError, match='precise_source must be one of'):
        MeanTeacherHook(buffers='precise', precise_source='weak')


def test_precise_unlabelled_source_estimates_from_the_second_dataset(
        tmp_path):
    from torch.utils.data import ConcatDataset
    recorder = _Recorder()
    train = ConcatDataset([_Regression(), _Shifted()])
    runner = _runner(
        tmp_path, 'unlabelled',
        dict(buffers='precise', precise_batches=3,
             precise_source='unlabelled'),
        recorder, val_interval=STEPS, dataset=train)
    runner.train()
    fed = [x for x, precise in recorder.bn_inputs if precise]
    assert len(fed) == 3
    # every precise batch comes from the shifted (second) set: its inputs
    # after the teacher's linear layer, recomputed from the second set
    teacher = runner.model.teacher
    with torch.no_grad():
        second = teacher.linear(_Shifted().x)
    for x in fed:
        assert all(any(torch.allclose(row, ref, atol=1e-5) for ref in second)
                   for row in x)
    stats = [_batch_stats(x) for x in fed]
    _assert_bn(teacher.bn, torch.stack([m for m, _ in stats]).mean(0),
               torch.stack([v for _, v in stats]).mean(0), atol=1e-4)
    # the labelled source gives other statistics
    labelled = _runner(tmp_path, 'labelled',
                       dict(buffers='precise', precise_batches=3),
                       _Recorder(), val_interval=STEPS, dataset=train)
    labelled.train()
    assert (labelled.model.teacher.bn.running_mean -
            teacher.bn.running_mean).abs().max() > 1


def test_precise_unlabelled_source_without_one_fails_before_training(
        tmp_path):
    runner = _runner(
        tmp_path, 'single',
        dict(buffers='precise', precise_source='unlabelled'), _Recorder())
    with pytest.raises(ValueError, match="precise_source='labelled'"):
        runner.train()
    assert runner.iter == 0


def test_training_part_of_configs_and_built_sets():
    from torch.utils.data import ConcatDataset

    from mmseg_reco.engine.hooks.precise_bn import training_part
    cfg = dict(type='ConcatDataset', datasets=[dict(a=1), dict(a=2)])
    assert training_part(cfg) == dict(a=1)
    assert training_part(cfg, 'unlabelled') == dict(a=2)
    single = dict(type='X')
    assert training_part(single) is single
    with pytest.raises(ValueError, match='two'):
        training_part(single, 'unlabelled')
    first, second = _Regression(), _Shifted()
    built = ConcatDataset([first, second])
    assert training_part(built) is first
    assert training_part(built, 'unlabelled') is second
