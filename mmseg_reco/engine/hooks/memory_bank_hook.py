"""Memory-bank update of the class-wise memory bank method after each step."""
from typing import List, Optional, Union

import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseg.registry import HOOKS

DATA_BATCH = Optional[Union[dict, tuple, list]]


@HOOKS.register_module()
class MemoryBankHook(Hook):
    """Fill the memory bank of every bank-holding loss term after each step.

    The terms are the sub-modules of the model with a ``push_candidates``
    method and a ``bank`` (e.g. :class:`CMBTerm` in ``method_losses``):

    - ``before_train_iter`` calls ``term.set_collect(collect)``: whether the
      step computes bank candidates (the teacher pass on the labelled images is
      skipped otherwise);
    - ``after_train_iter`` calls ``term.push_candidates()``, which gathers
      the candidates of every rank under DDP and writes them into the FIFO
      of each class, so that every rank keeps the same bank.

    Schedule (Alonso et al., section 3.4: "the memory bank is updated on
    every training iteration"): the bank is filled at iterations
    ``start_iter, start_iter + interval, ...`` (``runner.iter`` counted from
    0). The paper fills from the start (``start_iter=0``, default) and sets
    the contrastive weight to 0 for the first 2k iterations (``CMBTerm``'s
    ``warmup_iters``). The authors' code starts filling 1,000 iterations
    before the contrastive loss starts: ``start_iter=warmup_iters - 1000``
    (1000 with the paper's 2k warm-up).

    The bank lives in the model's buffers, so checkpoints save it and
    ``--resume`` restores it exactly; the hook itself keeps no state.

    Args:
        start_iter (int): first iteration whose candidates are pushed.
            Default: 0.
        interval (int): push every ``interval`` iterations. Default: 1.
        num_labelled_images (int, optional): |X_l|, the size of the labelled
            split, copied into every term whose ``num_labelled_images`` is
            None before training. None takes the length of the first dataset
            of the training ``ConcatDataset`` ([labelled, unlabelled]); set it
            when that dataset is not the target-domain labelled set (e.g.
            domain adaptation). Default: None.
    """

    priority = 'NORMAL'

    def __init__(self,
                 start_iter: int = 0,
                 interval: int = 1,
                 num_labelled_images: Optional[int] = None) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(
                f'interval must be a positive integer, got {interval}')
        if num_labelled_images is not None and num_labelled_images < 1:
            raise ValueError('num_labelled_images must be positive, got '
                             f'{num_labelled_images}')
        self.start_iter = start_iter
        self.interval = interval
        self.num_labelled_images = num_labelled_images
        self._terms: Optional[List[nn.Module]] = None

    @staticmethod
    def bank_terms(model: nn.Module) -> List[nn.Module]:
        """The sub-modules of ``model`` (DDP unwrapped) that hold a bank:
        a ``bank`` and the methods ``set_collect`` and ``push_candidates``."""
        if is_model_wrapper(model):
            model = model.module
        return [
            m for m in model.modules()
            if callable(getattr(m, 'push_candidates', None))
            and callable(getattr(m, 'set_collect', None))
            and hasattr(m, 'bank')
        ]

    def _labelled_size(self, runner) -> int:
        """|X_l| from the hook argument or the training dataset."""
        if self.num_labelled_images is not None:
            return self.num_labelled_images
        dataset = getattr(runner.train_dataloader, 'dataset', None)
        sources = getattr(dataset, 'datasets', None)
        if not sources:
            raise ValueError(
                'MemoryBankHook cannot find the labelled dataset (the first '
                'dataset of a ConcatDataset); set num_labelled_images')
        labelled = sources[0]
        if hasattr(labelled, 'datasets') or hasattr(labelled, '_ori_len'):
            raise ValueError(
                'the labelled dataset is itself a Concat/RepeatDataset; set '
                'MemoryBankHook(num_labelled_images=|X_l|) or CMBTerm('
                'num_labelled_images=...) to the target labelled split size')
        return len(labelled)

    def before_train(self, runner) -> None:
        """Find the bank terms and give them |X_l| when they lack it."""
        terms = self._terms = self.bank_terms(runner.model)
        if not terms:
            raise ValueError('MemoryBankHook found no module with a memory '
                             'bank (e.g. CMBTerm in method_losses)')
        for term in terms:
            if (getattr(term, 'num_labelled_images', 0) is None
                    and getattr(term, 'topk', None) is None):
                term.num_labelled_images = self._labelled_size(runner)

    def _get_terms(self, runner) -> List[nn.Module]:
        if self._terms is None:
            self._terms = self.bank_terms(runner.model)
        return self._terms

    def collect_at(self, iteration: int) -> bool:
        """Whether the step ``iteration`` (from 0) feeds the bank."""
        return (iteration >= self.start_iter
                and (iteration - self.start_iter) % self.interval == 0)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        """Tell the terms whether this step computes bank candidates."""
        collect = self.collect_at(runner.iter)
        for term in self._get_terms(runner):
            term.set_collect(collect)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        """Push the candidates of the finished step."""
        for term in self._get_terms(runner):
            term.push_candidates()
