"""Stop training at the first non-finite loss, keeping the last checkpoint."""
import math
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.dist import all_gather_object, all_reduce, get_world_size
from mmengine.hooks import Hook

from mmseg.registry import HOOKS

DATA_BATCH = Optional[Union[dict, tuple, list]]


class NonFiniteLossError(FloatingPointError):
    """A training loss is NaN or infinite (raised by
    :class:`NonFiniteLossHook`)."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` when a loss becomes NaN or infinite.

    After every training iteration the hook reads the iteration's logged
    losses (every key of the model's ``log_vars`` that contains ``'loss'``,
    the total ``loss`` included) and stops the run when one of them is not
    finite. The message names the iteration (counted from 1, as in the log
    and in ``iter_<k>.pth``), every non-finite loss with its value and rank,
    and the last checkpoint saved before it.

    Where the check sits:

    - ``after_train_iter`` with priority ``'HIGH'``: after mmengine's
      ``RuntimeInfoHook`` (``'VERY_HIGH'``), which has already copied every
      logged value to the host (``MessageHub.update_scalar`` calls
      ``.item()``), so reading the values adds no host synchronisation in a
      single process; and before ``MeanTeacherHook`` / ``MemoryBankHook``
      (``'NORMAL'``) and ``CheckpointHook`` (``'VERY_LOW'``), so the
      non-finite step reaches neither the teacher nor the bank on disk and
      the last checkpoint written is the last good one. The optimiser step
      of the bad iteration has run in memory (the model's ``train_step``
      precedes every ``after_train_iter`` hook); the process stops with it.
    - Under DDP every rank logs its own losses. To stop every rank at the
      same iteration (no rank left waiting in a collective), the ranks
      reduce one integer flag per iteration (``all_reduce`` of a 1-element
      tensor, ``sync_ranks=True``): one small collective per iteration
      whose latency (tens of microseconds with NCCL, on a stream the
      logging sync has already drained) is the hook's only cost. The names
      of the bad losses are exchanged only when a rank reports one.

    Args:
        sync_ranks (bool): under DDP, stop every rank when one rank sees a
            non-finite loss. Without it, only that rank raises and the
            launcher (``torch.distributed.run``) must end the others.
            Default: True.
        keys (Sequence[str], optional): the logged keys to check. Default:
            None (every key containing ``'loss'``).
    """

    priority = 'HIGH'

    def __init__(self,
                 sync_ranks: bool = True,
                 keys: Optional[Sequence[str]] = None) -> None:
        self.sync_ranks = sync_ranks
        self.keys = None if keys is None else list(keys)

    def _values(self, runner, outputs: dict) -> Dict[str, float]:
        """The iteration's logged losses as Python floats."""
        names = self.keys if self.keys is not None else [
            key for key in outputs if 'loss' in key
        ]
        values = {}
        for name in names:
            if name not in outputs:
                continue
            history = runner.message_hub.log_scalars.get(f'train/{name}')
            if history is not None and history.data[0].size:
                # RuntimeInfoHook stored this iteration's value on the host
                values[name] = float(history.current())
            else:
                value = outputs[name]
                values[name] = float(value.detach().float().mean()) if \
                    isinstance(value, torch.Tensor) else float(value)
        return values

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        """Raise :class:`NonFiniteLossError` on a NaN or infinite loss."""
        if not outputs:
            return
        values = self._values(runner, outputs)
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if self.sync_ranks and get_world_size() > 1:
            flag = torch.tensor([int(bool(bad))])
            all_reduce(flag)
            if int(flag.item()) == 0:
                return
            reports = all_gather_object(bad)
        elif not bad:
            return
        else:
            reports = [bad]
        raise NonFiniteLossError(self._message(runner, reports))

    @staticmethod
    def _message(runner, reports: List[Dict[str, float]]) -> str:
        parts = []
        for rank, bad in enumerate(reports):
            # the total 'loss' is non-finite whenever a term is: name the
            # terms first
            names = sorted(bad, key=lambda k: (k == 'loss', k))
            where = f' on rank {rank}' if len(reports) > 1 else ''
            if names:
                parts.append(', '.join(f'{k}={bad[k]}' for k in names) +
                             where)
        last = runner.message_hub.get_info('last_ckpt')
        kept = (f'the last checkpoint, {last}, was saved before it'
                if last else 'no checkpoint had been saved yet')
        return (f'non-finite loss at iteration {runner.iter + 1}: '
                f'{"; ".join(parts)}. Training stopped; {kept}. Resume from '
                'it with a lower learning rate, gradient clipping '
                '(optim_wrapper.clip_grad) or without --amp, or check the '
                'data of this iteration.')
