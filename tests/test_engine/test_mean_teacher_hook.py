import copy

import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel, MMDistributedDataParallel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from mmseg_reco.engine.hooks.mean_teacher_hook import MeanTeacherHook
from mmseg_reco.utils import register_safe_globals

IN_CHANNELS = 4
OUT_CHANNELS = 3
NUM_SAMPLES = 12
BATCH_SIZE = 4


class _Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(IN_CHANNELS, OUT_CHANNELS)
        self.bn = nn.BatchNorm1d(OUT_CHANNELS)

    def forward(self, x):
        return self.bn(self.linear(x))


class _MeanTeacherModel(BaseModel):
    """Student trained by regression; the teacher is never run forward."""

    def __init__(self):
        super().__init__()
        self.student = _Net()
        self.teacher = _Net()
        self.teacher.requires_grad_(False)
        self.teacher_modes = []

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            self.teacher_modes.append(self.teacher.training)
            out = self.student(inputs)
            return dict(loss=((out - data_samples)**2).mean())
        if mode == 'predict':
            return list(self.student(inputs))
        return self.student(inputs)


class _Regression(Dataset):

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(NUM_SAMPLES, IN_CHANNELS, generator=g)
        self.y = torch.randn(NUM_SAMPLES, OUT_CHANNELS, generator=g)

    def __len__(self):
        return NUM_SAMPLES

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], data_samples=self.y[idx])


class _ConstantMetric(BaseMetric):

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        return dict(score=1.0)


def _unwrap(model):
    return model.module if isinstance(model,
                                      MMDistributedDataParallel) else model


class _Recorder(Hook):
    """Record student and teacher states after every iteration.

    Its priority puts it after ``MeanTeacherHook`` (``'NORMAL'``).
    """

    priority = 'LOW'

    def __init__(self):
        self.student = []
        self.teacher = []

    def before_train(self, runner):
        model = _unwrap(runner.model)
        self.teacher_at_start = copy.deepcopy(model.teacher.state_dict())
        self.student_at_start = copy.deepcopy(model.student.state_dict())

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        model = _unwrap(runner.model)
        self.student.append(copy.deepcopy(model.student.state_dict()))
        self.teacher.append(copy.deepcopy(model.teacher.state_dict()))


def _runner(tmp_path,
            name,
            max_iters,
            hook_cfg,
            recorder=None,
            val_interval=None,
            checkpoint_interval=None,
            resume_from=None,
            wrap=False):
    torch.manual_seed(0)
    model = _MeanTeacherModel()
    if wrap:
        model = MMDistributedDataParallel(module=model)
    loader = dict(dataset=_Regression(),
                  sampler=dict(type='InfiniteSampler', shuffle=True),
                  batch_size=BATCH_SIZE,
                  num_workers=0,
                  collate_fn=dict(type='default_collate'))
    val = {}
    if val_interval is not None:
        val = dict(val_dataloader=dict(loader,
                                       sampler=dict(type='DefaultSampler',
                                                    shuffle=False)),
                   val_cfg=dict(),
                   val_evaluator=[_ConstantMetric()])
    custom_hooks = [dict(type='MeanTeacherHook', **hook_cfg)]
    if recorder is not None:
        custom_hooks.append(recorder)
    checkpoint = None
    if checkpoint_interval is not None:
        checkpoint = dict(type='CheckpointHook',
                          interval=checkpoint_interval,
                          by_epoch=False)
    return Runner(
        model=model,
        work_dir=str(tmp_path / name),
        experiment_name=f'{tmp_path.name}_{name}',
        train_dataloader=loader,
        train_cfg=dict(by_epoch=False,
                       max_iters=max_iters,
                       val_interval=val_interval or max_iters + 1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        custom_hooks=custom_hooks,
        default_hooks=dict(checkpoint=checkpoint),
        randomness=dict(seed=0),
        default_scope='mmseg',
        load_from=resume_from,
        resume=resume_from is not None,
        **val)


def _ema_reference(recorder, decays, keys):
    """Apply the EMA formula step by step to the recorded students."""
    teacher = {
        k: v.double()
        for k, v in recorder.teacher_at_start.items() if k in keys
    }
    for student, decay in zip(recorder.student, decays):
        for k in teacher:
            if decay is not None:
                teacher[k] = decay * teacher[k] + (
                    1 - decay) * student[k].double()
    return teacher


def _assert_states_close(actual, expected, keys, atol=1e-6):
    for k in keys:
        torch.testing.assert_close(actual[k].double(),
                                   expected[k].double(),
                                   atol=atol,
                                   rtol=0)


PARAMS = ('linear.weight', 'linear.bias', 'bn.weight', 'bn.bias')
FLOAT_BUFFERS = ('bn.running_mean', 'bn.running_var')


def test_reco_schedule_matches_formula(tmp_path):
    recorder = _Recorder()
    runner = _runner(tmp_path, 'reco', 5, dict(), recorder)
    runner.train()
    model = runner.model
    # copy at start: the teacher starts as the initial student, buffers too
    for k, v in recorder.student_at_start.items():
        assert torch.equal(recorder.teacher_at_start[k], v)
    decays = [min(1 - 1 / (i + 1), 0.99) for i in range(5)]
    assert decays[0] == 0
    expected = _ema_reference(recorder, decays, PARAMS)
    _assert_states_close(model.teacher.state_dict(), expected, PARAMS)
    # after the first step the teacher is exactly the student
    _assert_states_close(recorder.teacher[0],
                         recorder.student[0],
                         PARAMS,
                         atol=0)
    # the teacher lags behind the student
    assert not torch.allclose(model.teacher.linear.weight,
                              model.student.linear.weight)
    # 'skip': the hook leaves the teacher's BN statistics as copied at
    # start, while the student's have moved
    bn = model.teacher.bn
    assert torch.equal(bn.running_mean, torch.zeros(OUT_CHANNELS))
    assert torch.equal(bn.running_var, torch.ones(OUT_CHANNELS))
    assert int(bn.num_batches_tracked) == 0
    assert int(model.student.bn.num_batches_tracked) == 5
    assert not torch.equal(model.student.bn.running_mean,
                           torch.zeros(OUT_CHANNELS))


def test_constant_decay_and_interval(tmp_path):
    recorder = _Recorder()
    runner = _runner(tmp_path, 'const', 6, dict(decay=0.7, interval=2),
                     recorder)
    runner.train()
    # updates after iterations 1, 3, 5 (runner.iter counted from 0)
    decays = [None, 0.7, None, 0.7, None, 0.7]
    expected = _ema_reference(recorder, decays, PARAMS)
    _assert_states_close(runner.model.teacher.state_dict(), expected, PARAMS)
    _assert_states_close(recorder.teacher[0],
                         recorder.teacher_at_start,
                         PARAMS,
                         atol=0)


def test_skip_buffers_leaves_teacher_buffers_alone(tmp_path):
    recorder = _Recorder()
    runner = _runner(tmp_path, 'skip', 3, dict(copy_at_start=False), recorder)
    runner.model.teacher.bn.running_mean.fill_(7.)
    runner.model.teacher.bn.num_batches_tracked.fill_(42)
    runner.train()
    assert not torch.equal(recorder.teacher_at_start['linear.weight'],
                           recorder.student_at_start['linear.weight'])
    bn = runner.model.teacher.bn
    assert torch.equal(bn.running_mean, torch.full((OUT_CHANNELS, ), 7.))
    assert int(bn.num_batches_tracked) == 42
    # without the copy at start, the first update (decay 0) still copies
    # the parameters
    _assert_states_close(recorder.teacher[0],
                         recorder.student[0],
                         PARAMS,
                         atol=0)


def test_copy_buffers(tmp_path):
    runner = _runner(tmp_path, 'copy', 3, dict(buffers='copy'))
    runner.train()
    teacher = runner.model.teacher.state_dict()
    student = runner.model.student.state_dict()
    for k in FLOAT_BUFFERS + ('bn.num_batches_tracked', ):
        assert torch.equal(teacher[k], student[k])
    assert int(teacher['bn.num_batches_tracked']) == 3


def test_ema_buffers(tmp_path):
    recorder = _Recorder()
    runner = _runner(tmp_path, 'ema', 4,
                     dict(decay=0.6, buffers='ema', copy_at_start=False),
                     recorder)
    runner.model.teacher.bn.running_var.fill_(5.)
    runner.train()
    expected = _ema_reference(recorder, [0.6] * 4, PARAMS + FLOAT_BUFFERS)
    teacher = runner.model.teacher.state_dict()
    _assert_states_close(teacher, expected, PARAMS + FLOAT_BUFFERS)
    # integer buffers are copied
    assert int(teacher['bn.num_batches_tracked']) == 4


@pytest.mark.parametrize('teacher_mode', ['train', 'eval'])
def test_teacher_mode(tmp_path, teacher_mode):
    runner = _runner(tmp_path,
                     teacher_mode,
                     4,
                     dict(teacher_mode=teacher_mode),
                     val_interval=2)
    runner.train()
    model = runner.model
    want = teacher_mode == 'train'
    # during every step, although the loop calls model.train() each time
    assert model.teacher_modes == [want] * 4
    # after the last validation (which put the whole model in eval mode)
    assert model.teacher.training is want
    assert all(m.training is want for m in model.teacher.modules())
    assert model.student.training is False


def test_resume_restores_teacher(tmp_path):
    register_safe_globals()  # torch.load(weights_only=True) of mmengine
    uninterrupted = _runner(tmp_path, 'full', 6, dict())
    uninterrupted.train()

    first = _runner(tmp_path, 'part', 4, dict(), checkpoint_interval=4)
    first.train()
    checkpoint = str(tmp_path / 'part' / 'iter_4.pth')
    first_teacher = copy.deepcopy(first.model.teacher.state_dict())

    recorder = _Recorder()
    resumed = _runner(tmp_path,
                      'resumed',
                      6,
                      dict(),
                      recorder,
                      resume_from=checkpoint)
    # torch.load(weights_only=True) with the package's allow-list only: the
    # HistoryBuffers in the checkpoint must unpickle without getattr
    resumed.train()
    # the checkpoint holds the teacher: no copy of the student on resume
    for k, v in recorder.teacher_at_start.items():
        assert torch.equal(v, first_teacher[k])
    expected = uninterrupted.model.state_dict()
    actual = resumed.model.state_dict()
    assert set(actual) == set(expected)
    _assert_states_close(actual, expected, list(expected))
    assert not torch.allclose(actual['teacher.linear.weight'],
                              actual['student.linear.weight'])


@pytest.fixture
def process_group(tmp_path):
    """A single-process gloo group, so that a real DDP wrapper can be used."""
    torch.distributed.init_process_group(
        'gloo',
        init_method=f'file://{tmp_path / "dist_init"}',
        rank=0,
        world_size=1)
    yield
    torch.distributed.destroy_process_group()


def test_model_wrapper_is_unwrapped(tmp_path, process_group):
    recorder = _Recorder()
    runner = _runner(tmp_path,
                     'ddp',
                     3,
                     dict(teacher_mode='eval'),
                     recorder,
                     wrap=True)
    runner.train()
    assert isinstance(runner.model, MMDistributedDataParallel)
    model = runner.model.module
    decays = [min(1 - 1 / (i + 1), 0.99) for i in range(3)]
    expected = _ema_reference(recorder, decays, PARAMS)
    _assert_states_close(model.teacher.state_dict(), expected, PARAMS)
    assert model.teacher_modes == [False] * 3


def test_model_must_have_student_and_teacher():
    hook = MeanTeacherHook()

    class _Runner:
        iter = 0

    runner = _Runner()
    runner.model = nn.Module()
    runner.model.student = _Net()
    with pytest.raises(AttributeError, match='model.teacher'):
        hook.before_train(runner)
    runner.model.teacher = nn.Linear(2, 2)
    with pytest.raises(ValueError, match='differ'):
        hook.before_train(runner)


@pytest.mark.parametrize('kwargs', [
    dict(decay=1.5),
    dict(max_decay=-0.1),
    dict(interval=0),
    dict(buffers='average'),
    dict(teacher_mode='test'),
])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        MeanTeacherHook(**kwargs)


def test_ema_update_in_float32_for_half_teacher():
    model = nn.Module()
    model.student = nn.Linear(3, 3)
    model.teacher = nn.Linear(3, 3).half()
    expected = 0.25 * model.teacher.weight.float() + \
        0.75 * model.student.weight.float()
    MeanTeacherHook().ema_update(model, 0.25)
    assert model.teacher.weight.dtype == torch.float16
    torch.testing.assert_close(model.teacher.weight.float(),
                               expected,
                               atol=1e-3,
                               rtol=0)


class _SegImages(Dataset):
    """Two labelled 32 x 32 images (never drawn: the hook refuses first)."""

    def __len__(self):
        return 2

    def __getitem__(self, idx):
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        sample = SegDataSample(metainfo=dict(img_shape=(32, 32),
                                             ori_shape=(32, 32)))
        sample.gt_sem_seg = PixelData(data=torch.zeros(1, 32, 32).long())
        return dict(inputs=torch.zeros(3, 32, 32, dtype=torch.uint8),
                    data_samples=sample)


def _semi_runner(tmp_path, teacher):
    """A Runner of a tiny ``SemiSegmentor(teacher=teacher)`` (FixMatch's
    method pieces) with ``MeanTeacherHook`` in its custom hooks."""
    from mmseg_reco.testing.tiny_models import tiny_segmentor
    model = dict(
        type='SemiSegmentor',
        segmentor=tiny_segmentor(3, 32),
        teacher=teacher,
        strong_aug=dict(type='StrongAugment', mix='cutmix'),
        sup_aug=None,
        pseudo_loss=None,
        method_losses=[dict(type='WeakToStrongTerm')],
        semi_train_cfg=dict(sup_weight=0.5))
    return Runner(
        model=model,
        work_dir=str(tmp_path / teacher),
        experiment_name=f'{tmp_path.name}_{teacher}',
        train_dataloader=dict(
            dataset=_SegImages(),
            sampler=dict(type='InfiniteSampler', shuffle=False),
            batch_size=2,
            num_workers=0,
            collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=False, max_iters=1, val_interval=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        custom_hooks=[dict(type='MeanTeacherHook')],
        default_hooks=dict(checkpoint=None),
        default_scope='mmseg')


def test_self_teacher_model_is_refused_naming_the_config_key(tmp_path):
    runner = _semi_runner(tmp_path, 'self')
    model = runner.model
    assert model.teacher is model.student
    with pytest.raises(ValueError) as error:
        runner.train()
    message = str(error.value)
    assert "model.teacher='self'" in message
    assert 'custom_hooks' in message and "model.teacher='ema'" in message
    # refused before any step and before the teacher's modes reach the
    # student: its dropout layers are still in train mode
    assert runner.iter == 0
    assert all(m.training for m in model.student.modules())


def test_ema_teacher_model_passes_the_check(tmp_path):
    runner = _semi_runner(tmp_path, 'ema')
    hook = [h for h in runner.hooks if isinstance(h, MeanTeacherHook)][0]
    model = runner.model
    with torch.no_grad():
        for param in model.student.parameters():
            param.add_(1.0)
    hook.before_train(runner)
    # iteration 0: the student is copied into the teacher
    teacher = model.teacher.state_dict()
    for key, value in model.student.state_dict().items():
        assert torch.equal(teacher[key], value), key
