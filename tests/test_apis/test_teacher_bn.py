"""The teacher's BatchNorm policies on a real semi-supervised run.

A tiny ClassMix mean teacher (the folder leaf config with a tiny
DeepLabV3+) trains a few steps on generated folders: the losses are the
same bit for bit under every buffer policy, ``tools/analysis/teacher_bn.py``
evaluates a finished run under each policy, and the exported teacher
predicts as the evaluated one.
"""
import copy
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from PIL import Image

from mmseg.apis import inference_model, init_model
from mmseg_reco.apis import (apply_teacher_buffers, evaluate_teacher_bn,
                             export_model, labelled_train_set,
                             precise_train_set, trained_precise_source)
from mmseg_reco.testing.tiny_models import tiny_segmentor
from repo_scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LEAF = osp.join(REPO, 'configs', 'baselines',
                'classmix_deeplabv3plus-r18-d8_1xb4-1k_folder-full.py')
CLASSES = ('background', 'cat', 'dog')
SIZE = 32
STEPS = 3
PRECISE_BATCHES = 2


def write_png(path, array):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8)).save(path)


def make_tree(root, seed=0):
    """PNG images and label maps in the layout of semi_folder.py: 4
    labelled, 4 unlabelled, 2 validation images; random rectangles of
    classes 1 and 2 on 0."""
    rng = np.random.default_rng(seed)
    for split, count in (('train', 4), ('val', 2)):
        for i in range(count):
            image = rng.integers(0, 256, (SIZE, SIZE, 3))
            label = np.zeros((SIZE, SIZE), np.uint8)
            for cls in (1, 2):
                y, x = rng.integers(0, SIZE // 2, 2)
                label[y:y + SIZE // 2, x:x + SIZE // 2] = cls
                image[label == cls] = image[label == cls] // 4 + 60 * cls
            write_png(osp.join(root, split, 'images', f'{i}.png'), image)
            write_png(osp.join(root, split, 'labels', f'{i}.png'), label)
    for i in range(4):
        write_png(osp.join(root, 'unlabelled', f'{i}.png'),
                  rng.integers(0, 256, (SIZE, SIZE, 3)))


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('teacher_bn') / 'data')
    make_tree(root)
    return root


def _relocate(cfg, root):
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            if key == 'data_root':
                cfg[key] = root
            elif key == 'num_workers':
                cfg[key] = 0
            elif key == 'persistent_workers':
                cfg[key] = False
            else:
                _relocate(value, root)
    elif isinstance(cfg, list):
        for value in cfg:
            _relocate(value, root)


def tiny_cfg(root, work_dir, buffers):
    """The folder ClassMix config: tiny DeepLabV3+, 32x32 crops, 2 + 2
    images per batch, validation and a checkpoint after step 2 and at the
    end."""
    cfg = Config.fromfile(LEAF)
    cfg.model.segmentor = tiny_segmentor(len(CLASSES), SIZE,
                                         representation=False)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        _relocate(cfg[loader], root)
    for dataset in cfg.train_dataloader.dataset.datasets:
        for transform in dataset.pipeline:
            if transform['type'] in ('RandomResize', 'Resize'):
                transform['scale'] = (SIZE, SIZE)
            if 'crop_size' in transform:
                transform['crop_size'] = (SIZE, SIZE)
            if transform['type'] == 'Pad':
                transform['size'] = (SIZE, SIZE)
    cfg.train_dataloader.batch_size = 4
    cfg.train_dataloader.sampler.batch_size = 4
    cfg.train_dataloader.sampler.num_labelled = 2
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=STEPS,
                         val_interval=2)
    cfg.custom_hooks[0].buffers = buffers
    cfg.custom_hooks[0].precise_batches = PRECISE_BATCHES
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2,
                                        by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'teacher_bn_{osp.basename(str(work_dir))}'
    cfg.launcher = 'none'
    cfg.randomness = dict(seed=0)
    cfg.log_level = 'WARNING'
    return cfg


class _LossRecorder(Hook):
    """The logged losses of every step, and the teacher's buffers at every
    validation (after MeanTeacherHook)."""

    priority = 'LOW'

    def __init__(self):
        self.losses = []
        self.teacher_at_val = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses.append({k: float(v) for k, v in outputs.items()})

    def before_val(self, runner):
        self.teacher_at_val.append({
            k: v.clone()
            for k, v in runner.model.teacher.named_buffers()
        })


def train(root, work_dir, buffers):
    cfg = tiny_cfg(root, work_dir, buffers)
    runner = Runner.from_cfg(cfg)
    recorder = _LossRecorder()
    runner.register_hook(recorder)
    runner.train()
    return runner, recorder


@pytest.fixture(scope='module')
def runs(data_root, tmp_path_factory):
    out = {}
    for buffers in ('skip', 'ema', 'copy', 'precise'):
        work_dir = tmp_path_factory.mktemp(f'run_{buffers}')
        runner, recorder = train(data_root, work_dir, buffers)
        out[buffers] = dict(runner=runner, recorder=recorder,
                            work_dir=str(work_dir), cfg=runner.cfg)
    return out


def test_losses_are_bit_identical_under_every_policy(runs):
    skip = runs['skip']['recorder'].losses
    assert len(skip) == STEPS
    assert any(k.startswith('unsup_') for k in skip[0])
    for policy in ('ema', 'copy', 'precise'):
        assert runs[policy]['recorder'].losses == skip, policy
    # ... while the teachers' buffers differ
    means = {
        policy: run["runner"].model.teacher.backbone.stem[1].running_mean
        for policy, run in runs.items()
    }
    for a, b in (('skip', 'ema'), ('skip', 'copy'), ('skip', 'precise'),
                 ('ema', 'copy')):
        assert not torch.equal(means[a], means[b]), (a, b)
    assert torch.equal(
        means['copy'], runs['copy']['runner'].model.student.backbone.stem[1].
        running_mean)


def test_precise_run_evaluates_and_saves_the_precise_statistics(runs):
    run = runs['precise']
    teacher = run['runner'].model.teacher
    # re-estimated for the last weights: equal to an estimate made now
    model = copy.deepcopy(run['runner'].model)
    # the mean teacher's default source: the unlabelled set
    assert trained_precise_source(run['cfg']) == 'unlabelled'
    dataset, batch_size = precise_train_set(run['cfg'], 'unlabelled')
    assert batch_size == 2 and all(
        '/unlabelled/' in dataset.get_data_info(i)['img_path']
        for i in range(len(dataset)))
    apply_teacher_buffers(model, 'precise', dataset, batch_size,
                          PRECISE_BATCHES)
    at_val = run['recorder'].teacher_at_val[-1]
    saved = torch.load(osp.join(run['work_dir'], f'iter_{STEPS}.pth'),
                       map_location='cpu')['state_dict']
    for name, value in model.teacher.named_buffers():
        assert torch.equal(at_val[name], value), name
        assert torch.equal(saved[f'teacher.{name}'], value), name
        assert torch.equal(teacher.get_buffer(name), value), name


def test_tool_evaluates_every_policy_of_one_run(runs, capsys):
    run = runs['precise']
    checkpoint = osp.join(run['work_dir'], f'iter_{STEPS}.pth')
    tool = load_script('tools/analysis/teacher_bn.py')
    results = tool.main([
        _dump(run['cfg'], run['work_dir']), checkpoint, '--policies', 'skip',
        'copy', 'precise', '--precise-batches',
        str(PRECISE_BATCHES)
    ])
    assert list(results) == ['skip', 'copy', 'precise', 'student']
    # the checkpoint of a 'precise' run holds the precise statistics
    assert results['precise'] == results['skip']
    # the mIoU validation logged at the end of training
    logged = run['runner'].message_hub.get_scalar('val/mIoU').current()
    assert results['precise'] == pytest.approx(logged, abs=1e-6)
    printed = capsys.readouterr().out
    assert "trained with buffers='precise'" in printed
    assert 'teacher (copy)' in printed and 'student' in printed


def test_old_name_warns_and_builds_the_same_part(runs):
    cfg = runs['precise']['cfg']
    with pytest.warns(DeprecationWarning, match='precise_train_set'):
        dataset, batch_size = labelled_train_set(cfg, 'unlabelled')
    expected, expected_size = precise_train_set(cfg, 'unlabelled')
    assert batch_size == expected_size == 2
    assert [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))
            ] == [expected.get_data_info(i)['img_path']
                  for i in range(len(expected))]


def test_labelled_precise_source_estimates_other_statistics(runs):
    run = runs['precise']
    checkpoint = osp.join(run['work_dir'], f'iter_{STEPS}.pth')
    tool = load_script('tools/analysis/teacher_bn.py')
    results = tool.main([
        _dump(run['cfg'], run['work_dir']), checkpoint, '--policies',
        'precise', '--precise-batches',
        str(PRECISE_BATCHES), '--precise-source', 'labelled'
    ])
    dataset, batch_size = precise_train_set(run['cfg'], 'labelled')
    assert batch_size == 2 and all(
        '/train/' in dataset.get_data_info(i)['img_path']
        for i in range(len(dataset)))
    # the estimate over the labelled images: other statistics than the
    # run's own (unlabelled) estimate the checkpoint holds
    model = copy.deepcopy(run['runner'].model)
    apply_teacher_buffers(model, 'precise', dataset, batch_size,
                          PRECISE_BATCHES)
    saved = torch.load(checkpoint, map_location='cpu')['state_dict']
    assert any(not torch.equal(saved[f'teacher.{name}'], value)
               for name, value in model.teacher.named_buffers()
               if name.endswith('running_mean'))
    assert list(results) == ['precise', 'student']


def _dump(cfg, work_dir):
    path = osp.join(work_dir, 'tiny_config.py')
    cfg.dump(path)
    return path


def test_copy_policy_of_a_skip_run_scores_like_the_copied_teacher(runs):
    run = runs['skip']
    checkpoint = osp.join(run['work_dir'], f'iter_{STEPS}.pth')
    config = _dump(run['cfg'], run['work_dir'])
    results = evaluate_teacher_bn(config, checkpoint, policies=['copy'])
    # a 'copy' run's teacher: the same weights (training is the same) and
    # the student's buffers
    copy_run = runs['copy']
    copied = evaluate_teacher_bn(
        _dump(copy_run['cfg'], copy_run['work_dir']),
        osp.join(copy_run['work_dir'], f'iter_{STEPS}.pth'),
        policies=['skip'])
    assert results['copy'] == copied['skip']
    assert results['student'] == copied['student']


@pytest.mark.parametrize('policy, teacher_buffers', [('precise', None),
                                                     ('skip', 'copy'),
                                                     ('skip', 'precise')])
def test_exported_teacher_predicts_as_the_evaluated_teacher(
        runs, tmp_path, policy, teacher_buffers):
    run = runs[policy]
    checkpoint = osp.join(run['work_dir'], f'iter_{STEPS}.pth')
    config = _dump(run['cfg'], run['work_dir'])
    plain_cfg, plain_ckpt = export_model(
        config, checkpoint, str(tmp_path), use='teacher',
        teacher_buffers=teacher_buffers, precise_batches=PRECISE_BATCHES)
    # the evaluated teacher: the run's own (precise) or the checkpoint's
    # teacher under the policy, as teacher_bn evaluates it
    evaluated = init_model(config, checkpoint, device='cpu')
    if teacher_buffers is None:
        for name, value in run['recorder'].teacher_at_val[-1].items():
            assert torch.equal(evaluated.teacher.get_buffer(name), value)
    else:
        dataset, batch_size = precise_train_set(
            run['cfg'], trained_precise_source(run['cfg']))
        apply_teacher_buffers(evaluated, teacher_buffers, dataset,
                              batch_size, PRECISE_BATCHES)
    plain = init_model(plain_cfg, plain_ckpt, device='cpu')
    image = np.asarray(
        Image.open(osp.join(run['cfg'].val_dataloader.dataset.data_root,
                            'val', 'images', '0.png')))[..., ::-1].copy()
    expected = inference_model(evaluated, image).seg_logits.data
    got = inference_model(plain, image).seg_logits.data
    assert torch.equal(got, expected)
    # and not as the checkpoint's teacher when the buffers were replaced
    if teacher_buffers is not None:
        raw = init_model(config, checkpoint, device='cpu')
        assert not torch.equal(
            inference_model(raw, image).seg_logits.data, expected)


def test_export_refuses_teacher_buffers_for_the_student(runs, tmp_path):
    run = runs['skip']
    with pytest.raises(ValueError, match='teacher_buffers'):
        export_model(_dump(run['cfg'], run['work_dir']),
                     osp.join(run['work_dir'], f'iter_{STEPS}.pth'),
                     str(tmp_path), use='student', teacher_buffers='copy')


def test_export_tool_copies_the_students_buffers_into_the_teacher(
        runs, tmp_path):
    run = runs['skip']
    checkpoint = osp.join(run['work_dir'], f'iter_{STEPS}.pth')
    tool = load_script('tools/export_model.py')
    _, exported = tool.main([
        _dump(run['cfg'], run['work_dir']), checkpoint,
        str(tmp_path), '--teacher-buffers', 'copy'
    ])
    assert exported.endswith('_teacher.pth')
    weights = torch.load(exported, weights_only=True)['state_dict']
    saved = torch.load(checkpoint, map_location='cpu')['state_dict']
    key = 'backbone.stem.1.running_mean'
    assert torch.equal(weights[key], saved[f'student.{key}'])
    assert not torch.equal(weights[key], saved[f'teacher.{key}'])
    # the teacher's weights
    key = 'backbone.stem.0.weight'
    assert torch.equal(weights[key], saved[f'teacher.{key}'])
