"""Save the model's random number generator state for exact resumption."""
from typing import Optional

import torch
from mmengine.hooks import Hook

from mmseg.registry import HOOKS


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Make ``--resume`` repeat an uninterrupted run's random draws.

    mmengine re-seeds a resumed run from the config seed and replays the
    data loader up to the saved iteration, so the data pipelines (numpy /
    python random, worker seeds) are where they were. The model's own draws
    (query and key sampling of the contrastive losses, mixing boxes,
    dropout) come from torch's global generators, which the replay does not
    advance. This hook stores those generators' states in every checkpoint
    and restores them right before the first iteration after a resume,
    i.e. after the replay.

    With deterministic settings on a CPU the resumed losses then equal the
    uninterrupted run's; on CUDA non-deterministic kernels may still differ
    in the last bits.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = dict(torch=torch.get_rng_state())
        if torch.cuda.is_available():
            state['cuda'] = torch.cuda.get_rng_state_all()
        checkpoint['rng_state'] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # only a resumed run continues the saved draws; ``load_from``
        # (initialisation, evaluation) keeps the run's own seed
        if getattr(runner, '_resume', False):
            self._pending = checkpoint.get('rng_state')

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if self._pending is None:
            return
        state, self._pending = self._pending, None
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])
