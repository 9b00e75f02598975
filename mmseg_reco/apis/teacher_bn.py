"""The teacher's BatchNorm statistics under each policy, from one checkpoint.

A mean-teacher checkpoint holds ``teacher.*`` and ``student.*`` weights and
buffers. Because the teacher labels in train mode (batch statistics), its
running statistics never reach a training loss, so the policies of
:class:`~mmseg_reco.engine.hooks.MeanTeacherHook` that need nothing tracked
during training can all be applied to the same finished run and evaluated:

- ``'skip'``: the teacher's buffers as the checkpoint holds them (its own
  train-mode statistics for a run trained with ``buffers='skip'``);
- ``'copy'``: the student's buffers;
- ``'precise'``: re-estimated for the teacher's weights over N batches of
  one part of the training set, the run's ``precise_source``
  (:func:`~mmseg_reco.engine.hooks.precise_bn.precise_bn_stats`).

``'ema'`` needs the buffers averaged during training: train with
``buffers='ema'`` and evaluate that run's ``'skip'``.
``tools/analysis/teacher_bn.py`` prints the table of
:func:`evaluate_teacher_bn`.
"""
import copy
import inspect
import tempfile
import warnings
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import is_model_wrapper

from ..engine.hooks.mean_teacher_hook import MeanTeacherHook
from ..engine.hooks.precise_bn import (labelled_batch_size, training_part,
                                       precise_bn_stats)

#: Policies that can be applied to a finished run's checkpoint.
TEACHER_BN_POLICIES = ('skip', 'copy', 'precise')


def precise_train_set(
        cfg: Config,
        source: str = 'labelled') -> Tuple[torch.utils.data.Dataset, int]:
    """The part of ``cfg``'s training set that a precise estimate reads.

    Args:
        cfg (Config): a training config.
        source (str): ``'labelled'`` or ``'unlabelled'``
            (:data:`~mmseg_reco.engine.hooks.precise_bn.PRECISE_SOURCES`).
            Default: ``'labelled'``.

    Returns:
        tuple: the part, built with its pipeline, and the labelled images
        per training batch (the estimate's default batch size).
    """
    from mmseg.registry import DATASETS
    loader = cfg.train_dataloader
    dataset = DATASETS.build(
        copy.deepcopy(training_part(loader['dataset'], source)))
    return dataset, labelled_batch_size(loader)


def labelled_train_set(
        cfg: Config,
        source: str = 'labelled') -> Tuple[torch.utils.data.Dataset, int]:
    """Deprecated name of :func:`precise_train_set`."""
    warnings.warn(
        'labelled_train_set is deprecated: use precise_train_set '
        '(same arguments; it builds the unlabelled part as well)',
        DeprecationWarning, stacklevel=2)
    return precise_train_set(cfg, source)


@torch.no_grad()
def apply_teacher_buffers(model: nn.Module,
                          policy: str,
                          dataset: Optional[torch.utils.data.Dataset] = None,
                          batch_size: Optional[int] = None,
                          num_batches: int = 100,
                          seed: int = 0) -> None:
    """Give a mean-teacher model's teacher the buffers of ``policy``.

    Args:
        model (nn.Module): a ``SemiSegmentor`` (``teacher``/``student``).
        policy (str): one of :data:`TEACHER_BN_POLICIES`.
        dataset (Dataset, optional): the part of the training set to
            estimate over (``'precise'``; :func:`precise_train_set`).
        batch_size (int, optional): images per batch (``'precise'``).
        num_batches (int): batches of the estimate (``'precise'``).
            Default: 100.
        seed (int): seed of the batches (``'precise'``). Default: 0.

    Raises:
        ValueError: for an unknown policy, or ``'precise'`` without a
            dataset and batch size.
    """
    if policy not in TEACHER_BN_POLICIES:
        raise ValueError(f'policy must be one of {TEACHER_BN_POLICIES}, got '
                         f'{policy!r} (an \'ema\' teacher needs a run '
                         "trained with MeanTeacherHook(buffers='ema'))")
    if policy == 'skip':
        return
    if policy == 'copy':
        for t, s in zip(model.teacher.buffers(), model.student.buffers()):
            t.copy_(s)
        return
    if dataset is None or batch_size is None:
        raise ValueError("policy 'precise' needs a training set and a "
                         'batch size (precise_train_set(cfg, source))')
    precise_bn_stats(model.teacher, dataset, model.data_preprocessor,
                     num_batches, batch_size, seed)


def _eval_cfg(config: Union[str, Config], checkpoint: str, work_dir: str,
              cfg_options: Optional[dict]) -> Tuple[Config, str]:
    """The test config of a finished run, and its mean teacher's
    ``precise_source`` (read before the custom hooks are dropped)."""
    cfg = Config.fromfile(config) if isinstance(config, str) else \
        copy.deepcopy(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.work_dir = work_dir
    cfg.experiment_name = None
    cfg.load_from, cfg.resume = checkpoint, False
    source = trained_precise_source(cfg)
    # MeanTeacherHook(buffers='precise') would re-estimate before testing
    cfg.custom_hooks = []
    cfg.log_level = 'WARNING'
    cfg.test_dataloader = cfg.get('test_dataloader') or cfg.val_dataloader
    cfg.test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
    cfg.test_cfg = dict(type='TestLoop')
    cfg.model.setdefault('semi_test_cfg', dict())
    cfg.model.semi_test_cfg.predict_both = False
    return cfg, source


def evaluate_teacher_bn(config: Union[str, Config],
                        checkpoint: str,
                        policies: Sequence[str] = TEACHER_BN_POLICIES,
                        precise_batches: int = 100,
                        precise_batch_size: Optional[int] = None,
                        seed: int = 0,
                        work_dir: Optional[str] = None,
                        cfg_options: Optional[dict] = None,
                        precise_source: Optional[str] = None
                        ) -> 'OrderedDict[str, float]':
    """mIoU of a finished run's teacher under each policy, and the student's.

    The checkpoint is loaded once; before each policy the teacher gets back
    the checkpoint's buffers, then :func:`apply_teacher_buffers` and the
    config's test loop (its ``test_dataloader``, else ``val_dataloader``,
    scored by mmseg's ``IoUMetric``) run. Custom hooks are left out.

    Args:
        config (str | Config): the training config.
        checkpoint (str): its checkpoint.
        policies (Sequence[str]): policies of :data:`TEACHER_BN_POLICIES`.
        precise_batches (int): batches of the ``'precise'`` estimate.
            Default: 100.
        precise_batch_size (int, optional): images per batch. Default:
            the labelled images of a training batch.
        seed (int): seed of the ``'precise'`` batches. Default: 0.
        work_dir (str, optional): the runner's work directory. Default: a
            temporary one.
        cfg_options (dict, optional): config overrides (data roots, ...).
        precise_source (str, optional): ``'labelled'`` or
            ``'unlabelled'``, the training set the ``'precise'`` batches
            come from. Default: the config's ``MeanTeacherHook``'s
            (:func:`trained_precise_source`).

    Returns:
        OrderedDict[str, float]: mIoU (%) by policy, then ``'student'``.
    """
    from mmengine.runner import Runner
    for policy in policies:
        if policy not in TEACHER_BN_POLICIES:
            raise ValueError(f'policies must be among {TEACHER_BN_POLICIES},'
                             f' got {policy!r}')
    with tempfile.TemporaryDirectory() as tmp:
        cfg, trained_source = _eval_cfg(config, checkpoint, work_dir or tmp,
                                        cfg_options)
        runner = Runner.from_cfg(cfg)
        runner.call_hook('before_run')
        runner.load_or_resume()
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if not isinstance(getattr(model, 'teacher', None), nn.Module):
            raise ValueError(f'{type(model).__name__} has no teacher: '
                             'teacher_bn compares mean-teacher models')
        saved = [b.detach().clone() for b in model.teacher.buffers()]
        dataset, batch_size = None, precise_batch_size
        if 'precise' in policies:
            dataset, default_size = precise_train_set(
                cfg, precise_source or trained_source)
            batch_size = batch_size or default_size
        results = OrderedDict()
        for policy in list(policies) + ['student']:
            with torch.no_grad():
                for buf, value in zip(model.teacher.buffers(), saved):
                    buf.copy_(value)
            if policy == 'student':
                model.semi_test_cfg.predict_on = 'student'
            else:
                model.semi_test_cfg.predict_on = 'teacher'
                apply_teacher_buffers(model, policy, dataset, batch_size,
                                      precise_batches, seed)
            results[policy] = float(runner.test_loop.run()['mIoU'])
        runner.call_hook('after_run')
    return results


def format_teacher_bn_table(results: Dict[str, float],
                            trained_with: Optional[str] = None) -> str:
    """A text table of :func:`evaluate_teacher_bn`'s results, with each
    teacher row's difference to the student."""
    student = results.get('student')
    title = 'teacher BN statistics'
    if trained_with:
        title += f" (trained with buffers='{trained_with}')"
    lines = [title, f'{"evaluated":<20}{"mIoU":>8}{"- student":>11}']
    for name, miou in results.items():
        label = 'student' if name == 'student' else f'teacher ({name})'
        gap = '' if student is None or name == 'student' else \
            f'{miou - student:+11.2f}'
        lines.append(f'{label:<20}{miou:8.2f}{gap}')
    return '\n'.join(lines)


def _mean_teacher_setting(cfg: Config, name: str) -> Optional[str]:
    """Argument ``name`` of the config's ``MeanTeacherHook``, the hook's own
    default where the config leaves it out (None without the hook)."""
    for hook in cfg.get('custom_hooks') or []:
        if hook.get('type') == 'MeanTeacherHook':
            default = inspect.signature(MeanTeacherHook).parameters[name]
            return hook.get(name, default.default)
    return None


def trained_precise_source(cfg: Config) -> str:
    """``precise_source`` of the config's ``MeanTeacherHook`` (the source
    its ``'precise'`` statistics were estimated from; ``'labelled'``
    without one)."""
    return _mean_teacher_setting(cfg, 'precise_source') or 'labelled'


def trained_buffer_policy(cfg: Config) -> Optional[str]:
    """``buffers`` of the config's ``MeanTeacherHook`` (None without one)."""
    return _mean_teacher_setting(cfg, 'buffers')
