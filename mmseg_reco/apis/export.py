"""Export the network inside a semi-supervised model as a plain mmseg model.

A ``SemiSegmentor`` holds two copies of one mmseg segmentor (teacher and
student) whose decode head may be wrapped by a training-only head
(:class:`RepresentationHead`, :class:`CMBHead`: the inner mmseg head plus a
representation branch that prediction never runs). :func:`export_model`
writes what prediction needs as files that mmseg alone reads::

    OUT_DIR/<config name>_<teacher|student>.py    plain mmseg config
    OUT_DIR/<config name>_<teacher|student>.pth   {'state_dict', 'meta'}

- the config: the inner segmentor with the wrapping head replaced by its
  inner head, the semi model's data preprocessor and ``test_cfg``, no
  ``custom_imports``, hooks or samplers of this package; the test pipeline
  (without the label check ``CheckSegLabels``), a test dataloader over
  mmseg's ``BaseSegDataset`` with the dataset's files, suffixes and class
  names, and mmseg's ``IoUMetric`` (so mmseg's ``tools/test.py`` evaluates
  it);
- the checkpoint: the chosen network's weights under the plain model's
  keys, plain tensors only, and ``meta.dataset_meta`` (class names and
  palette), so ``torch.load(weights_only=True)`` reads it.

A ``SemiSegmentor(teacher='self')`` (FixMatch, UniMatch) holds one
network, the student, which labels its own weak view: ``use='teacher'``
exports that student (``<config name>_student.*``) and logs a line that
says so.

The teacher's BatchNorm statistics are the checkpoint's: those the run's
``MeanTeacherHook(buffers=...)`` left there. With ``buffers='precise'``
the hook re-estimates them for the saved weights before every checkpoint
is written, so the export carries the statistics the teacher was evaluated
with at that iteration; nothing is re-estimated at export. A run trained
with another policy can be exported under ``'copy'`` (the student's
buffers) or ``'precise'`` (estimated now, over the part of the training
set that the config's ``MeanTeacherHook(precise_source=...)`` names) with
``teacher_buffers`` (``--teacher-buffers``), as
``tools/analysis/teacher_bn.py`` evaluates them.

Models whose heads or backbones are classes of this package (the DeepLabV2
head of the DeepLabV2 configs, RC2L's ``RegionHead``) have no plain mmseg
counterpart; exporting them raises a ``ValueError`` naming the class.
DeepLabV3+ models with a ``RepresentationHead`` export to mmseg's
``DepthwiseSeparableASPPHead``, and every model of
``configs/reco/architectures/`` to its mmseg head.
"""
import copy
import inspect
import logging
import os
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader

from ..models.segmentors.semi_segmentor import SEMI_TEST_DEFAULTS

#: Decode heads that wrap an mmseg head (``decode_head`` in their config
#: and as their attribute) and add training-only branches.
WRAPPER_HEADS = ('RepresentationHead', 'CMBHead')
#: Test-pipeline transforms of this package that only check the data; the
#: exported pipeline leaves them out.
CHECK_TRANSFORMS = ('CheckSegLabels', )
NETWORKS = ('teacher', 'student')
PROJECT = 'mmseg_reco'


def _is_project_class(cls: Any) -> bool:
    return getattr(cls, '__module__', '').split('.')[0] == PROJECT


def _is_semi(model_cfg: dict) -> bool:
    from mmseg.registry import MODELS
    from ..models.segmentors import SemiSegmentor
    cls = MODELS.get(model_cfg['type'])
    return isinstance(cls, type) and issubclass(cls, SemiSegmentor)


def _project_types(cfg: Any, registry, path: str = 'model'):
    """Yield (path, type) of every config dict whose ``type`` is a class of
    this package in ``registry`` (``init_cfg`` dicts are skipped)."""
    if isinstance(cfg, dict):
        kind = cfg.get('type')
        if isinstance(kind, str) and _is_project_class(registry.get(kind)):
            yield path, kind
        elif isinstance(kind, type) and _is_project_class(kind):
            yield path, kind.__name__
        for key, value in cfg.items():
            if key != 'init_cfg':
                yield from _project_types(value, registry, f'{path}.{key}')
    elif isinstance(cfg, (list, tuple)):
        for index, value in enumerate(cfg):
            yield from _project_types(value, registry, f'{path}[{index}]')


def plain_segmentor_cfg(model_cfg: dict) -> ConfigDict:
    """The plain mmseg segmentor config that predicts for ``model_cfg``.

    Args:
        model_cfg (dict): a ``SemiSegmentor`` (or subclass) config, or a
            plain segmentor config.

    Returns:
        ConfigDict: the inner segmentor with the semi model's
        ``data_preprocessor``/``test_cfg``, every wrapping decode head
        (:data:`WRAPPER_HEADS`) replaced by its inner head, no
        ``pretrained`` and no backbone ``init_cfg`` (the weights come from
        the exported checkpoint).

    Raises:
        ValueError: if a part of the model is a class of this package that
            mmseg cannot build.
    """
    from mmseg.registry import MODELS
    model_cfg = copy.deepcopy(ConfigDict(model_cfg))
    if _is_semi(model_cfg):
        seg = model_cfg.segmentor
        if model_cfg.get('data_preprocessor') is not None:
            seg.data_preprocessor = model_cfg.data_preprocessor
        if model_cfg.get('test_cfg') is not None:
            seg.test_cfg = model_cfg.test_cfg
    else:
        seg = model_cfg
    head = seg.get('decode_head')
    while isinstance(head, dict) and head.get('type') in WRAPPER_HEADS:
        head = head.decode_head
    seg.decode_head = head
    seg.pretrained = None
    seg.train_cfg = dict()
    if isinstance(seg.get('backbone'), dict):
        seg.backbone.init_cfg = None
        seg.backbone.pop('pretrained', None)
    found = list(_project_types(seg, MODELS))
    if found:
        names = ', '.join(f'{kind} ({path})' for path, kind in found)
        raise ValueError(
            f'cannot export a plain mmseg model: {names} is a class of '
            f'{PROJECT} without an mmseg counterpart. Models whose heads '
            'and backbones are mmseg classes (possibly wrapped by '
            f'{"/".join(WRAPPER_HEADS)}) export, e.g. DeepLabV3+ with a '
            'RepresentationHead; DeepLabV2 and RC2L region-head models '
            f'need {PROJECT} to load.')
    return seg


def plain_state_dict(state_dict: Dict[str, torch.Tensor], semi: bool,
                     use: str, decode_head_wrapped: bool
                     ) -> 'OrderedDict[str, torch.Tensor]':
    """The chosen network's weights under the plain segmentor's keys.

    ``teacher.``/``student.`` is stripped (``semi``), a wrapping head's
    ``decode_head.decode_head.*`` becomes ``decode_head.*`` and its
    training-only branches (``decode_head.rep_branch.*`` ...) are dropped.
    Every value is a detached, contiguous CPU tensor.
    """
    prefix = f'{use}.' if semi else ''
    out = OrderedDict()
    for key, value in state_dict.items():
        if not key.startswith(prefix):
            continue
        key = key[len(prefix):]
        if decode_head_wrapped and key.startswith('decode_head.'):
            if not key.startswith('decode_head.decode_head.'):
                continue
            key = key[len('decode_head.'):]
        out[key] = value.detach().cpu().clone().contiguous()
    return out


def _plain_value(value: Any) -> Any:
    """Builtin containers and scalars only (``weights_only`` loadable)."""
    if isinstance(value, dict):
        return {str(k): _plain_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain_value(v) for v in value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise TypeError(f'cannot export {type(value).__name__} in dataset_meta')


def _test_dataset_cfg(cfg: Config) -> dict:
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    if not loader:
        raise ValueError('the config has no test_dataloader or '
                         'val_dataloader: nothing to take the test pipeline '
                         'and the class names from')
    return loader['dataset']


def _dataset_meta(cfg: Config, checkpoint: dict) -> dict:
    """``meta.dataset_meta`` of the checkpoint, else the test dataset
    class's ``METAINFO``."""
    from mmseg.registry import DATASETS
    meta = (checkpoint.get('meta') or {}).get('dataset_meta')
    if meta is None:
        dataset = _test_dataset_cfg(cfg)
        meta = dict(dataset.get('metainfo') or
                    getattr(DATASETS.get(dataset['type']), 'METAINFO', {}))
    if 'classes' not in meta:
        raise ValueError('neither the checkpoint meta nor the test dataset '
                         'give class names (dataset_meta.classes)')
    return _plain_value(dict(meta))


def plain_test_pipeline(pipeline: list) -> list:
    """The test pipeline without this package's checking transforms.

    Raises:
        ValueError: for any other transform of this package.
    """
    from mmseg.registry import TRANSFORMS
    out = []
    for transform in copy.deepcopy(pipeline):
        kind = transform['type']
        cls = kind if isinstance(kind, type) else TRANSFORMS.get(kind)
        if _is_project_class(cls):
            if getattr(cls, '__name__', kind) in CHECK_TRANSFORMS:
                continue
            raise ValueError(
                f'the test pipeline uses {cls.__name__}, a transform of '
                f'{PROJECT}; a plain mmseg config cannot build it')
        out.append(transform)
    return out


def plain_test_dataset(dataset: dict, pipeline: list,
                       dataset_meta: dict) -> dict:
    """The test dataset as an mmseg dataset config.

    A dataset class of this package becomes mmseg's ``BaseSegDataset``
    with the class's file suffixes and ``reduce_zero_label`` and the class
    names of ``dataset_meta``; an mmseg dataset stays as it is.
    """
    from mmseg.datasets import BaseSegDataset
    from mmseg.registry import DATASETS
    dataset = copy.deepcopy(dict(dataset))
    dataset['pipeline'] = pipeline
    cls = DATASETS.get(dataset['type'])
    if not _is_project_class(cls):
        return dataset
    accepted = set(inspect.signature(BaseSegDataset.__init__).parameters)
    defaults = {
        name: param.default
        for name, param in inspect.signature(cls.__init__).parameters.items()
        if name in ('img_suffix', 'seg_map_suffix', 'reduce_zero_label')
        and param.default is not inspect.Parameter.empty
    }
    plain = {k: v for k, v in dataset.items() if k in accepted}
    plain.update(defaults)
    plain.update(type='BaseSegDataset', metainfo=dataset_meta)
    return plain


def plain_config(cfg: Config, dataset_meta: dict) -> Config:
    """A plain mmseg config: model, test pipeline, test loop and metric."""
    dataset = _test_dataset_cfg(cfg)
    pipeline = plain_test_pipeline(
        cfg.get('test_pipeline') or dataset['pipeline'])
    metric = dict(type='IoUMetric', iou_metrics=['mIoU'])
    evaluator = cfg.get('test_evaluator') or {}
    if isinstance(evaluator, dict) and 'iou_metrics' in evaluator:
        metric['iou_metrics'] = list(evaluator['iou_metrics'])
    out = dict(
        default_scope='mmseg',
        model=plain_segmentor_cfg(cfg.model).to_dict(),
        test_pipeline=pipeline,
        test_dataloader=dict(
            batch_size=1,
            num_workers=2,
            persistent_workers=False,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=plain_test_dataset(dataset, pipeline, dataset_meta)),
        test_evaluator=metric,
        test_cfg=dict(type='TestLoop'),
        env_cfg=dict(
            cudnn_benchmark=False,
            mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
            dist_cfg=dict(backend='nccl')),
        vis_backends=[dict(type='LocalVisBackend')],
        visualizer=dict(
            type='SegLocalVisualizer',
            vis_backends=[dict(type='LocalVisBackend')],
            name='visualizer'),
        default_hooks=dict(
            timer=dict(type='IterTimerHook'),
            logger=dict(type='LoggerHook', interval=50,
                        log_metric_by_epoch=False),
            param_scheduler=dict(type='ParamSchedulerHook'),
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=-1),
            sampler_seed=dict(type='DistSamplerSeedHook'),
            visualization=dict(type='SegVisualizationHook')),
        log_processor=dict(by_epoch=False),
        log_level='INFO',
        load_from=None,
        resume=False)
    return Config(out)


def _with_teacher_buffers(cfg: Config, state_dict: Dict[str, torch.Tensor],
                          policy: str, num_batches: int,
                          batch_size: Optional[int],
                          seed: int) -> Dict[str, torch.Tensor]:
    """``state_dict`` with the teacher's buffers of ``policy``
    (:func:`~mmseg_reco.apis.teacher_bn.apply_teacher_buffers`)."""
    from mmseg.registry import MODELS
    from .teacher_bn import (apply_teacher_buffers, precise_train_set,
                             trained_precise_source)
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.load_state_dict(state_dict)
    if torch.cuda.is_available():
        model = model.cuda()
    dataset, default_size = (None, None)
    if policy == 'precise':
        dataset, default_size = precise_train_set(
            cfg, trained_precise_source(cfg))
    apply_teacher_buffers(model, policy, dataset, batch_size or default_size,
                          num_batches, seed)
    return model.state_dict()


def _self_teacher_network(cfg: Config, use: str,
                          teacher_buffers: Optional[str]) -> str:
    """The network to export of a ``SemiSegmentor(teacher='self')``.

    Such a model (FixMatch, UniMatch) holds one network, the student, which
    is also its pseudo-labeller, and its checkpoint holds ``student.*``
    only: ``use='teacher'`` exports the student, and says so.

    Raises:
        ValueError: for ``teacher_buffers``, which needs an EMA teacher.
    """
    source = cfg.filename or 'the config'
    if teacher_buffers is not None:
        raise ValueError(
            f'teacher_buffers={teacher_buffers!r} applies to an EMA teacher; '
            f"the model of {source} has model.teacher='self' (one network, "
            'the student): leave --teacher-buffers out')
    if use == 'teacher':
        print_log(
            f"export: the model of {source} has model.teacher='self' (no "
            'EMA teacher: the student labels its own weak view), so '
            "use='teacher' exports the student, its one network",
            logger='current', level=logging.INFO)
    return 'student'


def export_model(config: Union[str, Config],
                 checkpoint: str,
                 out_dir: str,
                 use: Optional[str] = None,
                 teacher_buffers: Optional[str] = None,
                 precise_batches: int = 100,
                 precise_batch_size: Optional[int] = None,
                 precise_seed: int = 0) -> Tuple[str, str]:
    """Write a plain mmseg config and checkpoint of one network.

    Args:
        config (str | Config): the training config (a ``SemiSegmentor`` or
            a plain segmentor with a wrapping head).
        checkpoint (str): its checkpoint (an mmengine checkpoint or a dict
            with ``state_dict``).
        out_dir (str): directory for the two files (created).
        use (str, optional): ``'teacher'`` or ``'student'`` for a semi
            model. Default: the network it evaluates
            (``semi_test_cfg.predict_on``, the teacher by default). Must be
            None for a plain model. A model with ``teacher='self'`` (no EMA
            teacher) exports its student for either, with a log line.
        teacher_buffers (str, optional): ``'skip'``, ``'copy'`` or
            ``'precise'`` (:data:`~mmseg_reco.apis.teacher_bn.
            TEACHER_BN_POLICIES`) to export the teacher with. Default: the
            checkpoint's buffers, which ``'skip'`` also keeps.
        precise_batches (int): batches of a ``'precise'`` estimate.
            Default: 100.
        precise_batch_size (int, optional): images per batch. Default:
            the labelled images of a training batch.
        precise_seed (int): seed of the ``'precise'`` batches. Default: 0.

    Returns:
        tuple[str, str]: the paths of the config and the checkpoint.

    Raises:
        ValueError: for a bad ``use``, a model with classes of this package
            that mmseg cannot build, or weights that do not match the plain
            model.
    """
    from mmseg.registry import MODELS
    cfg = Config.fromfile(config) if isinstance(config, str) else \
        copy.deepcopy(config)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    semi = _is_semi(cfg.model)
    if semi:
        test_cfg = dict(SEMI_TEST_DEFAULTS,
                        **(cfg.model.get('semi_test_cfg') or {}))
        use = use or test_cfg['predict_on']
        if use not in NETWORKS:
            raise ValueError(f'use must be one of {NETWORKS}, got {use!r}')
        if cfg.model.get('teacher', 'ema') == 'self':
            use = _self_teacher_network(cfg, use, teacher_buffers)
    elif use is not None:
        raise ValueError(f'use={use!r} is for semi-supervised models; '
                         f'{cfg.model.type} holds one network')
    if teacher_buffers is not None and (not semi or use != 'teacher'):
        raise ValueError(f'teacher_buffers={teacher_buffers!r} applies to '
                         'the teacher of a semi-supervised model; export '
                         'with use=\'teacher\' or leave it None')
    model_cfg = plain_segmentor_cfg(cfg.model)
    inner = cfg.model.segmentor if semi else cfg.model
    wrapped = inner.get('decode_head', {}).get('type') in WRAPPER_HEADS

    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    if not isinstance(ckpt, dict):
        raise ValueError(f'{checkpoint} holds no dict of weights')
    state_dict = ckpt.get('state_dict', ckpt)
    if teacher_buffers not in (None, 'skip'):
        state_dict = _with_teacher_buffers(cfg, state_dict, teacher_buffers,
                                           precise_batches,
                                           precise_batch_size, precise_seed)
    weights = plain_state_dict(state_dict, semi, use or '', wrapped)
    expected = set(MODELS.build(copy.deepcopy(model_cfg)).state_dict())
    missing = sorted(expected - set(weights))
    unexpected = sorted(set(weights) - expected)
    if missing or unexpected:
        raise ValueError(
            f'the weights of {checkpoint} do not match the plain model: '
            f'missing {missing[:5]}{"..." if len(missing) > 5 else ""}, '
            f'unexpected {unexpected[:5]}'
            f'{"..." if len(unexpected) > 5 else ""}')

    dataset_meta = _dataset_meta(cfg, ckpt)
    plain = plain_config(cfg, dataset_meta)
    plain.model = model_cfg.to_dict()
    name = osp.splitext(osp.basename(cfg.filename or 'model.py'))[0]
    name = f'{name}_{use}' if semi else name
    os.makedirs(out_dir, exist_ok=True)
    config_path = osp.join(out_dir, f'{name}.py')
    ckpt_path = osp.join(out_dir, f'{name}.pth')
    plain.dump(config_path)
    torch.save(dict(state_dict=weights,
                    meta=dict(dataset_meta=dataset_meta)), ckpt_path)
    return config_path, ckpt_path
