"""Refuse checkpoints of another method, model or class list."""
import re
from typing import Dict, List, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from mmseg.registry import HOOKS

#: Prefixes of the two copies of a mean-teacher model (SemiSegmentor).
_SEMI_PREFIXES = ('student.', 'teacher.')
#: Mismatches listed in a message before '... and N more'.
_SHOWN = 5


class IncompatibleCheckpointError(ValueError):
    """The checkpoint does not fit the model or the dataset (raised by
    :class:`CheckpointCompatibilityHook`)."""


def model_signature(model: nn.Module) -> dict:
    """What a checkpoint records about the model that wrote it.

    Args:
        model (nn.Module): the (unwrapped) segmentor.

    Returns:
        dict: ``type`` (segmentor class), ``decode_head`` (class of the
        trained decode head), ``method_losses`` (classes of the method
        terms, in order) and ``num_classes`` (or None), all plain Python
        values (they load under ``torch.load(weights_only=True)``).
    """
    inner = getattr(model, 'student', model)
    head = getattr(inner, 'decode_head', None)
    num_classes = getattr(head, 'num_classes', None)
    return dict(
        type=type(model).__name__,
        decode_head=type(head).__name__ if head is not None else None,
        method_losses=[
            type(term).__name__
            for term in getattr(model, 'method_losses', [])
        ],
        num_classes=int(num_classes) if num_classes is not None else None)


def _describe(sig: dict) -> str:
    methods = '+'.join(sig.get('method_losses') or []) or 'no method loss'
    return (f'{sig.get("type")} ({sig.get("decode_head")}, {methods}, '
            f'{sig.get("num_classes")} classes)')


def _shorten(items: Sequence[str]) -> str:
    shown = ', '.join(items[:_SHOWN])
    more = len(items) - _SHOWN
    return shown + (f' and {more} more' if more > 0 else '')


@HOOKS.register_module()
class CheckpointCompatibilityHook(Hook):
    """Turn a checkpoint that does not fit the run into a clear error.

    mmengine loads ``load_from`` and ``--resume`` checkpoints with
    ``strict=False``: a tensor of another shape (e.g. a classifier for 19
    classes in a 21-class model) is skipped with a warning, and keys of
    another method (a memory bank, a region head) are ignored, so a wrong
    checkpoint silently trains or evaluates a partly random model. This hook
    runs in ``after_load_checkpoint`` (called by ``Runner.load_checkpoint``
    and ``Runner.resume`` before the weights reach the model) and raises
    :class:`IncompatibleCheckpointError`, naming the mismatch, when:

    - the class names saved with the checkpoint (``meta.dataset_meta``)
      differ from the dataset's, or the class count saved in
      ``meta.model_signature`` (written by :meth:`before_save_checkpoint`,
      see :func:`model_signature`) differs from the model's;
    - a tensor has another shape than the model's;
    - on ``--resume``: the checkpoint was written by another segmentor,
      decode head or method (the signature), lacks some of the model's
      parameters or buffers, or holds others (every key must match: a
      resumed run continues the saved one);
    - when evaluating (``tools/test.py``, no training loop): the checkpoint
      lacks some of the model's tensors (they would stay random);
    - ``load_from`` for training may initialise a part of the model (a
      backbone, or the student of another method) but must share at least
      one tensor with it.

    A plain segmentor checkpoint loaded into a mean-teacher model is
    compared with both copies (``student.`` / ``teacher.``), as
    ``SemiSegmentor`` loads it.

    To fine-tune on a dataset with other classes, name the tensors to leave
    out in ``ignore_keys`` (regular expressions, e.g.
    ``['conv_seg']`` for the classifier): they are removed from the loaded
    state dict, and the class lists are not compared.

    Args:
        ignore_keys (Sequence[str]): regular expressions (``re.search``) of
            state-dict keys to drop from the checkpoint before loading; when
            given, the class names are not compared. Default: ().
        check_classes (bool): compare the saved class names with the
            dataset's. Default: True.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 ignore_keys: Sequence[str] = (),
                 check_classes: bool = True) -> None:
        if isinstance(ignore_keys, str):
            ignore_keys = [ignore_keys]
        self.ignore_keys = [re.compile(p) for p in ignore_keys]
        self.check_classes = check_classes

    # ------------------------------------------------------------------
    @staticmethod
    def _model(runner) -> nn.Module:
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    @staticmethod
    def _dataset_classes(runner) -> Optional[Tuple[str, ...]]:
        """The class names of the run's dataset (train, else val/test)."""
        for name in ('_train_loop', '_val_loop', '_test_loop'):
            loop = getattr(runner, name, None)
            if not isinstance(loop, BaseLoop):
                continue
            meta = getattr(loop.dataloader.dataset, 'metainfo', None) or {}
            if meta.get('classes'):
                return tuple(meta['classes'])
        return None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Record :func:`model_signature` in ``checkpoint['meta']``."""
        checkpoint.setdefault('meta', {})['model_signature'] = \
            model_signature(self._model(runner))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Raise :class:`IncompatibleCheckpointError` on a mismatch."""
        resuming = bool(getattr(runner, '_resume', False))
        training = isinstance(getattr(runner, '_train_loop', None), BaseLoop)
        model = self._model(runner)
        meta = checkpoint.get('meta') or {}
        state = checkpoint.get('state_dict', checkpoint)
        if self.ignore_keys:
            for key in [k for k in state if self._ignored(k)]:
                del state[key]
        problems = []
        if self.check_classes and not self.ignore_keys:
            problems += self._class_problems(runner, meta)
        saved_sig = meta.get('model_signature')
        sig = model_signature(model)
        if saved_sig is not None:
            keys = ['type', 'decode_head', 'method_losses'] if resuming \
                else []
            if not self.ignore_keys:
                keys.append('num_classes')
            if any(saved_sig.get(k) != sig[k] for k in keys):
                problems.append(f'it was saved by {_describe(saved_sig)}, '
                                f'this model is {_describe(sig)}')
        mode = 'resume' if resuming else ('init' if training else 'eval')
        state_problems = self._state_problems(model, state, mode)
        problems += state_problems
        if state_problems and saved_sig is not None and \
                saved_sig != sig and not any('saved by' in p
                                             for p in problems):
            problems.append(f'it was saved by {_describe(saved_sig)}, this '
                            f'model is {_describe(sig)}')
        if problems:
            action = 'resume from' if resuming else 'load'
            raise IncompatibleCheckpointError(
                f'cannot {action} this checkpoint: ' + '; '.join(problems) +
                '. Check the config and the work_dir / load_from; to '
                'fine-tune on other classes, drop the classifier with '
                'CheckpointCompatibilityHook(ignore_keys=[...]).')

    # ------------------------------------------------------------------
    def _ignored(self, key: str) -> bool:
        return any(p.search(key) for p in self.ignore_keys)

    def _class_problems(self, runner, meta: dict) -> List[str]:
        saved = (meta.get('dataset_meta') or {}).get('classes')
        current = self._dataset_classes(runner)
        if saved is None or current is None or tuple(saved) == current:
            return []
        saved = tuple(saved)
        if len(saved) != len(current):
            return [f'it was trained on {len(saved)} classes, the dataset '
                    f'has {len(current)}']
        diff = [f'{i}: {a!r} vs {b!r}'
                for i, (a, b) in enumerate(zip(saved, current)) if a != b]
        return [f'its class names differ from the dataset\'s '
                f'({_shorten(diff)})']

    def _state_problems(self, model: nn.Module, state: Dict[str, object],
                        mode: str) -> List[str]:
        """Shape and key mismatches; ``mode``: 'resume', 'init' or 'eval'.
        """
        wanted = {
            k: tuple(v.shape)
            for k, v in model.state_dict().items() if not self._ignored(k)
        }
        given = {}
        for key, value in state.items():
            key = re.sub(r'^module\.', '', key)
            shape = tuple(getattr(value, 'shape', ()))
            given[key] = shape
        # a plain segmentor checkpoint fills both copies of a mean teacher
        semi_model = any(k.startswith(_SEMI_PREFIXES) for k in wanted)
        if semi_model and not any(k.startswith(_SEMI_PREFIXES)
                                  for k in given):
            given = {
                prefix + k: s
                for k, s in given.items() for prefix in _SEMI_PREFIXES
            }
        problems = []
        shapes = [
            f'{k}: checkpoint {list(given[k])} vs model {list(s)}'
            for k, s in wanted.items() if k in given and given[k] != s
        ]
        if shapes:
            problems.append(f'{len(shapes)} tensor(s) have another shape '
                            f'({_shorten(shapes)})')
        missing = sorted(set(wanted) - set(given))
        unexpected = sorted(set(given) - set(wanted))
        if mode in ('resume', 'eval') and missing:
            problems.append(f'it lacks {len(missing)} of the model\'s '
                            f'tensors ({_shorten(missing)})')
        if mode == 'resume' and unexpected:
            problems.append(f'it holds {len(unexpected)} tensor(s) the '
                            f'model does not have ({_shorten(unexpected)})')
        if mode == 'init' and wanted and not set(wanted) & set(given):
            problems.append('it shares no tensor with the model (e.g. '
                            f'checkpoint {_shorten(sorted(given)[:2])}; model '
                            f'{_shorten(sorted(wanted)[:2])})')
        return problems
