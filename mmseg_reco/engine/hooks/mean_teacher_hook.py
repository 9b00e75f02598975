"""Exponential-moving-average update of the teacher of a mean-teacher model."""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseg.registry import HOOKS
from .precise_bn import (PRECISE_SOURCES, bn_buffers, labelled_batch_size,
                         precise_bn_stats, training_part)
from .teacher_mode import set_teacher_mode

DATA_BATCH = Optional[Union[dict, tuple, list]]


def _lerp_(teacher: List[torch.Tensor], student: List[torch.Tensor],
           weight: float) -> None:
    """``teacher += weight * (student - teacher)`` for every pair, in place.

    Computed in float32: float32 tensors are updated directly with one fused
    ``torch._foreach_lerp_``; lower-precision tensors are promoted, updated
    and written back.

    Args:
        teacher (list[Tensor]): Floating-point tensors updated in place.
        student (list[Tensor]): Tensors of the same shapes.
        weight (float): Interpolation weight in [0, 1], i.e. ``1 - decay``.
    """
    if not teacher:
        return
    if all(t.dtype == torch.float32 for t in teacher):
        torch._foreach_lerp_(teacher, [s.to(torch.float32) for s in student],
                             weight)
        return
    teacher32 = [t.to(torch.float32) for t in teacher]
    torch._foreach_lerp_(teacher32, [s.to(torch.float32) for s in student],
                         weight)
    torch._foreach_copy_(teacher, teacher32)


@HOOKS.register_module()
class MeanTeacherHook(Hook):
    """Update the teacher as an exponential moving average of the student.

    The model (unwrapped from DDP if needed) must have two sub-modules of the
    same architecture, ``model.student`` trained by the optimiser and
    ``model.teacher`` updated by this hook after every ``interval``-th
    optimiser step (`Mean Teacher <https://arxiv.org/abs/1703.01780>`_):

    .. math::

        \\theta'_t = d_t \\, \\theta'_{t-1} + (1 - d_t) \\, \\theta_t

    where :math:`\\theta` are the student's and :math:`\\theta'` the
    teacher's parameters, and :math:`\\theta_t` is the student after step
    :math:`t`. ``decay`` is :math:`d`, the weight of the teacher, as in the
    papers. mmdet's and mmengine's EMA hooks name the other weight
    ``momentum`` (theirs weighs the student: ``momentum = 1 - decay``); the
    name here says which one it is.

    A model without an EMA teacher (``SemiSegmentor(teacher='self')``,
    FixMatch and UniMatch, whose ``teacher`` is the student) is refused
    before training with an error that names ``model.teacher`` and
    ``custom_hooks``.

    With ``decay=None`` the decay follows the ReCo schedule (arXiv 2104.04465,
    Sec. 3.3, :math:`\\lambda = 0.99`, with the warm-up of the authors'
    code):

    .. math::

        d_t = \\min(1 - 1 / (t + 1), d_{max})

    with :math:`t` = ``runner.iter`` counted from 0, so the update after the
    first step copies the student (:math:`d_0 = 0`), and ``max_decay``
    = :math:`d_{max}` (0.99 for ReCo, 0.997 for the class-wise memory bank
    of Alonso et al.). The update runs under ``no_grad`` in float32 with
    ``torch._foreach_lerp_`` over all parameters at once.

    Buffers (BatchNorm running statistics) are handled by ``buffers``, the
    one knob of the teacher's statistics (``teacher_buffers`` in
    ``configs/_base_/methods/mean_teacher.py``):

    - ``'skip'`` (default, ReCo): only parameters are averaged; the teacher's
      buffers are left alone. A teacher kept in train mode then uses batch
      statistics and updates its own running statistics whenever it is run
      forward (on the weak unlabelled view).
    - ``'copy'``: the student's buffers are copied into the teacher after
      every update.
    - ``'ema'``: floating-point buffers are averaged like the parameters,
      with the same decay; integer ones (``num_batches_tracked``) are
      copied.
    - ``'precise'``: buffers are left alone during training, as
      ``'skip'``, and the teacher's BatchNorm statistics are re-estimated
      (:func:`~mmseg_reco.engine.hooks.precise_bn.precise_bn_stats`: the
      mean of the batch statistics, not an EMA) over ``precise_batches``
      batches of the labelled training set (``precise_source='labelled'``)
      or of the unlabelled one (``'unlabelled'``: the weak view the
      teacher labels; no labels needed), with that set's own pipeline (no
      strong view) and ``precise_batch_size``
      images per batch, before every validation, before every checkpoint
      is saved (so the checkpoint, ``tools/test.py`` and
      ``tools/export_model.py`` carry the statistics that were evaluated)
      and after training. The batches are drawn with ``precise_seed`` and
      every random generator is given back its state, so training goes on
      exactly as with ``'skip'``; one estimate serves every validation and
      checkpoint until the teacher's weights change. Each rank estimates
      the same statistics from the same batches.

    With ``teacher_mode='train'`` the teacher labels with batch statistics,
    so its buffers never reach a training loss: the four policies train the
    same run and differ only in what is evaluated and exported
    (``tools/analysis/teacher_bn.py`` compares them on a finished run).
    With ``teacher_mode='eval'`` the buffers are the ones it labels with.

    The teacher's mode is set separately for its normalisation layers and
    for its dropout layers:

    - ``teacher_mode`` governs normalisation: ``'train'`` (ReCo and the
      memory bank: BatchNorm normalises with the statistics of the batch the
      teacher labels, as the authors' ``ema.model.train()``) or ``'eval'``
      (RC2L: running statistics).
    - ``teacher_dropout`` governs dropout (``nn.Dropout*``, ``DropPath``):
      off by default in either mode, so the teacher's pseudo-labels are a
      deterministic function of its weights and input batch. The authors'
      networks have no dropout in the teacher's path; mmseg's decode heads
      have ``Dropout2d(0.1)`` before their classifier (``dropout_ratio``)
      and transformer decoders have their own, which would otherwise perturb
      every pseudo-label.

    Both are applied before training, before every training iteration (the
    loop calls ``runner.model.train()`` each iteration, which would
    otherwise switch the whole teacher back to train mode) and after every
    validation.

    The teacher is part of the model's ``state_dict``, so checkpoints save
    it and ``resume`` restores it; the hook itself keeps no state. Because
    the decay depends only on ``runner.iter``, a resumed run continues
    exactly as an uninterrupted one.

    Args:
        decay (float, optional): Constant decay :math:`d` in [0, 1]
            (weight of the teacher). ``None`` selects the ReCo schedule
            above. Defaults to None.
        max_decay (float): Upper bound :math:`d_{max}` of the ReCo
            schedule, in [0, 1]; unused when ``decay`` is given.
            Defaults to 0.99.
        interval (int): Update the teacher after every ``interval``-th
            iteration (``(runner.iter + 1) % interval == 0``). Defaults to 1.
        buffers (str): ``'skip'``, ``'copy'``, ``'ema'`` or
            ``'precise'``, see above. Defaults to ``'skip'``.
        teacher_mode (str): mode of the teacher's normalisation layers:
            ``'train'`` (ReCo: BatchNorm uses batch statistics) or
            ``'eval'`` (running statistics). Defaults to ``'train'``.
        teacher_dropout (bool): keep the teacher's dropout and drop-path
            layers active in ``'train'`` mode. Defaults to False (off).
        copy_at_start (bool): Copy the student's parameters and buffers into
            the teacher before the first iteration of a run that does not
            resume (``runner.iter == 0``). Defaults to True.
        precise_batches (int): batches of a ``'precise'`` estimate.
            Defaults to 100.
        precise_batch_size (int, optional): images per batch of a
            ``'precise'`` estimate. Defaults to None: the labelled images
            of a training batch (the sampler's ``num_labelled``, the batch
            the student's statistics come from).
        precise_seed (int): seed of the ``'precise'`` batches. Defaults
            to 0.
        precise_source (str): where the ``'precise'`` batches come from:
            ``'labelled'`` (the first dataset of the training set) or
            ``'unlabelled'`` (the second). With very few labelled images
            the labelled estimate sees only those images: on the
            label-efficiency benchmark (10 labelled canvases) it cost the
            true-label ClassMix teacher 5.0 mIoU against its own
            statistics, and the unlabelled estimate 0.1
            (docs/benchmarks.md). Defaults to ``'labelled'``.
    """

    priority = 'NORMAL'
    BUFFER_MODES = ('skip', 'copy', 'ema', 'precise')
    TEACHER_MODES = ('train', 'eval')

    def __init__(self,
                 decay: Optional[float] = None,
                 max_decay: float = 0.99,
                 interval: int = 1,
                 buffers: str = 'skip',
                 teacher_mode: str = 'train',
                 teacher_dropout: bool = False,
                 copy_at_start: bool = True,
                 precise_batches: int = 100,
                 precise_batch_size: Optional[int] = None,
                 precise_seed: int = 0,
                 precise_source: str = 'labelled') -> None:
        if decay is not None and not 0 <= decay <= 1:
            raise ValueError(f'decay must be in [0, 1], got {decay}')
        if not 0 <= max_decay <= 1:
            raise ValueError(f'max_decay must be in [0, 1], got {max_decay}')
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(
                f'interval must be a positive integer, got {interval}')
        if buffers not in self.BUFFER_MODES:
            raise ValueError(
                f'buffers must be one of {self.BUFFER_MODES}, got {buffers!r}')
        if teacher_mode not in self.TEACHER_MODES:
            raise ValueError(f'teacher_mode must be one of '
                             f'{self.TEACHER_MODES}, got {teacher_mode!r}')
        if not isinstance(precise_batches, int) or precise_batches < 1:
            raise ValueError('precise_batches must be a positive integer, '
                             f'got {precise_batches}')
        if precise_batch_size is not None and (
                not isinstance(precise_batch_size, int)
                or precise_batch_size < 1):
            raise ValueError('precise_batch_size must be None or a positive '
                             f'integer, got {precise_batch_size}')
        if precise_source not in PRECISE_SOURCES:
            raise ValueError(f'precise_source must be one of '
                             f'{PRECISE_SOURCES}, got {precise_source!r}')
        self.constant_decay = decay
        self.max_decay = max_decay
        self.interval = interval
        self.buffers = buffers
        self.teacher_mode = teacher_mode
        self.teacher_dropout = teacher_dropout
        self.copy_at_start = copy_at_start
        self.precise_batches = precise_batches
        self.precise_batch_size = precise_batch_size
        self.precise_seed = precise_seed
        self.precise_source = precise_source
        # EMA updates of this run, and the last precise estimate:
        # (updates when estimated, the teacher's BatchNorm buffers)
        self._updates = 0
        self._precise: Optional[Tuple[int, Dict[str, torch.Tensor]]] = None
        self._training = False

    @staticmethod
    def _unwrap(runner) -> nn.Module:
        """The runner's model without its DDP (or other) wrapper."""
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        return model

    @staticmethod
    def _check_pair(model: nn.Module) -> None:
        """Check that ``model`` has a student and a teacher of one shape.

        Raises:
            AttributeError: if ``student`` or ``teacher`` is missing.
            ValueError: if their parameter/buffer names or shapes differ.
        """
        for name in ('student', 'teacher'):
            if not isinstance(getattr(model, name, None), nn.Module):
                raise AttributeError(
                    f'MeanTeacherHook needs model.{name} (an nn.Module); '
                    f'{type(model).__name__} has none')
        # MMSeparateDistributedDataParallel wraps each sub-module
        pair = [
            m.module if is_model_wrapper(m) else m
            for m in (model.student, model.teacher)
        ]
        for kind in ('named_parameters', 'named_buffers'):
            student = [(n, t.shape) for n, t in getattr(pair[0], kind)()]
            teacher = [(n, t.shape) for n, t in getattr(pair[1], kind)()]
            if student != teacher:
                diff = [(s, t) for s, t in zip(student, teacher) if s != t]
                raise ValueError(
                    f'student and teacher differ in {kind[6:]}: '
                    f'{len(student)} vs {len(teacher)} tensors, first '
                    f'mismatch (student, teacher): '
                    f'{diff[0] if diff else "(length)"}')

    def _set_teacher_mode(self, runner) -> None:
        set_teacher_mode(
            self._unwrap(runner).teacher,
            norm_train=self.teacher_mode == 'train',
            dropout=self.teacher_dropout)

    def decay_at(self, iteration: int) -> float:
        """Decay :math:`d` of the update after iteration ``iteration``.

        Args:
            iteration (int): ``runner.iter`` of the finished step, from 0.

        Returns:
            float: The weight of the teacher in the average.
        """
        if self.constant_decay is not None:
            return self.constant_decay
        return min(1.0 - 1.0 / (iteration + 1), self.max_decay)

    @torch.no_grad()
    def ema_update(self, model: nn.Module, decay: float) -> None:
        """``teacher = decay * teacher + (1 - decay) * student``.

        Args:
            model (nn.Module): Unwrapped model with ``student``/``teacher``.
            decay (float): Weight of the teacher, in [0, 1].
        """
        weight = 1.0 - decay
        _lerp_([p.data for p in model.teacher.parameters()],
               [p.data for p in model.student.parameters()], weight)
        if self.buffers in ('skip', 'precise'):
            return
        pairs = list(zip(model.teacher.buffers(), model.student.buffers()))
        if self.buffers == 'copy':
            copy = pairs
        else:
            floating = [(t, s) for t, s in pairs if t.is_floating_point()]
            copy = [(t, s) for t, s in pairs if not t.is_floating_point()]
            if floating:
                _lerp_(*map(list, zip(*floating)), weight)
        if copy:
            torch._foreach_copy_(*map(list, zip(*copy)))

    @torch.no_grad()
    def _copy_all(self, model: nn.Module) -> None:
        """Copy the student's parameters and buffers into the teacher."""
        pairs = list(
            zip(model.teacher.parameters(),
                model.student.parameters())) + list(
                    zip(model.teacher.buffers(), model.student.buffers()))
        if pairs:
            torch._foreach_copy_(*map(list, zip(*pairs)))

    @staticmethod
    def _check_ema_teacher(model: nn.Module, config: str = 'the config'
                           ) -> None:
        """Refuse a model whose teacher is its student.

        ``SemiSegmentor(teacher='self')`` (FixMatch, UniMatch) has no EMA
        teacher: ``model.teacher`` is ``model.student``, and this hook would
        average the student into itself and switch the student's own
        normalisation and dropout layers to the teacher's modes.

        Raises:
            ValueError: naming ``model.teacher`` and ``custom_hooks``.
        """
        if model.teacher is model.student:
            raise ValueError(
                f"MeanTeacherHook: the model of {config} has no EMA teacher "
                f"(model.teacher={getattr(model, 'teacher_type', 'self')!r}:"
                ' the student labels its own weak view, as FixMatch and '
                'UniMatch do), so there is nothing to average. Remove '
                "dict(type='MeanTeacherHook', ...) from custom_hooks, or set "
                "model.teacher='ema' to train with an EMA teacher.")

    def before_train(self, runner) -> None:
        """Check the model, copy the student at iteration 0, set the mode."""
        model = self._unwrap(runner)
        self._check_pair(model)
        cfg = getattr(runner, 'cfg', None)
        self._check_ema_teacher(
            model, getattr(cfg, 'filename', None) or 'the config')
        if self.buffers == 'precise':
            # a missing source fails now, not at the first validation
            try:
                training_part(runner.train_dataloader.dataset,
                              self.precise_source)
            except ValueError as err:
                raise ValueError(
                    f"MeanTeacherHook in "
                    f"{getattr(cfg, 'filename', None) or 'the config'}: "
                    f'{err}') from None
        if self.copy_at_start and runner.iter == 0:
            self._copy_all(model)
        self._set_teacher_mode(runner)
        self._updates = 0
        self._precise = None
        self._training = True

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        """Restore the teacher's mode after ``runner.model.train()``."""
        self._set_teacher_mode(runner)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        """Average the student into the teacher every ``interval`` steps."""
        if (runner.iter + 1) % self.interval != 0:
            return
        self.ema_update(self._unwrap(runner), self.decay_at(runner.iter))
        self._updates += 1

    @staticmethod
    def _teacher(model: nn.Module) -> nn.Module:
        teacher = model.teacher
        return teacher.module if is_model_wrapper(teacher) else teacher

    def precise_update(self, runner) -> None:
        """Re-estimate the teacher's BatchNorm statistics (``'precise'``).

        Over ``precise_batches`` batches of the ``precise_source`` part of
        ``runner.train_dataloader`` (the first dataset of its
        ``ConcatDataset``, or the second). The estimate is kept and written back, not
        recomputed, until the next EMA update.
        """
        model = self._unwrap(runner)
        teacher = self._teacher(model)
        if self._precise is not None and self._precise[0] == self._updates:
            for key, value in self._precise[1].items():
                teacher.get_buffer(key).copy_(value)
            return
        loader = runner.train_dataloader
        precise_bn_stats(
            teacher,
            training_part(loader.dataset, self.precise_source),
            model.data_preprocessor,
            num_batches=self.precise_batches,
            batch_size=self.precise_batch_size
            or labelled_batch_size(loader),
            seed=self.precise_seed)
        self._precise = (self._updates, bn_buffers(teacher))

    def before_val(self, runner) -> None:
        """``'precise'``: re-estimate the statistics the teacher is
        evaluated with."""
        if self.buffers == 'precise' and self._training:
            self.precise_update(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """``'precise'``: save the statistics the teacher is evaluated
        with (estimated for the weights being saved)."""
        if self.buffers != 'precise' or not self._training:
            return
        self.precise_update(runner)
        model = self._unwrap(runner)
        prefix = 'teacher.' + ('module.'
                               if is_model_wrapper(model.teacher) else '')
        state = checkpoint['state_dict']
        for key, value in self._precise[1].items():
            if prefix + key in state:
                state[prefix + key] = value.to(
                    device=state[prefix + key].device,
                    dtype=state[prefix + key].dtype).clone()

    def after_val(self, runner) -> None:
        """Restore the teacher's mode after the validation loop."""
        self._set_teacher_mode(runner)

    def after_train(self, runner) -> None:
        """``'precise'``: leave the trained teacher with its estimate."""
        if self.buffers == 'precise':
            self.precise_update(runner)
        self._training = False
