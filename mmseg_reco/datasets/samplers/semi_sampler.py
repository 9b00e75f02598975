"""Infinite sampler mixing labelled and unlabelled images in every batch."""
import itertools
from typing import Iterator, Optional

import numpy as np
from mmengine.dist import (broadcast_object_list, get_dist_info,
                           sync_random_seed)
from torch.utils.data import ConcatDataset, Sampler

from mmseg.registry import DATA_SAMPLERS

#: Number of sources that the ``ConcatDataset`` must hold: labelled first,
#: unlabelled second.
NUM_SOURCES = 2


@DATA_SAMPLERS.register_module()
class LabelledUnlabelledSampler(Sampler):
    """Infinite sampler with a fixed labelled:unlabelled ratio per batch.

    The dataset is a ``ConcatDataset`` of exactly two datasets, the labelled
    one first and the unlabelled one second. The sampler yields an endless
    stream of indices into the ``ConcatDataset`` in chunks of ``batch_size``:
    each chunk holds ``num_labelled`` indices of the labelled set followed by
    ``batch_size - num_labelled`` indices of the unlabelled set (shifted by
    the labelled set's length), so that the collated batch can be split by
    position::

        batch = [l, l, ..., l, u, u, ..., u]
                 <num_labelled> <batch_size - num_labelled>

    ReCo draws the same number of labelled and unlabelled images per step,
    hence ``num_labelled`` defaults to ``batch_size // 2``;
    ``num_labelled=batch_size`` gives labelled-only batches (the supervised
    baseline), and the unlabelled set is then never read and may be empty.

    Each source has its own infinite stream made of successive permutations
    of its indices; the permutation of pass ``e`` over source ``s`` is drawn
    from a generator seeded with ``(seed, s, e)``. The seed is the same on
    every rank (rank 0's value is broadcast), and rank ``r`` of ``W`` takes
    the elements ``r, r + W, r + 2W, ...`` of each source stream, as
    mmengine's ``InfiniteSampler`` does, so ranks never draw the same element
    of a stream.

    Every call of ``iter()`` restarts the same stream: the stream is a pure
    function of ``seed``, ``rank`` and ``world_size``. mmengine's
    ``IterBasedTrainLoop`` resumes by drawing and discarding the batches that
    were already used, which therefore reproduces exactly the batches an
    uninterrupted run would have seen, provided the seed is the same. The
    runner passes its own seed (``randomness=dict(seed=...)``); set it in the
    config, or ``seed`` in the sampler config, for resumable runs, since a
    ``None`` seed is drawn anew in every run.

    mmengine builds the sampler with only ``dataset`` and ``seed`` as default
    arguments, so ``batch_size`` must be repeated in the sampler config and
    must equal the dataloader's ``batch_size``.

    Examples:
        >>> train_dataloader = dict(
        ...     batch_size=4,
        ...     sampler=dict(type='LabelledUnlabelledSampler', batch_size=4,
        ...                  num_labelled=2),
        ...     dataset=dict(type='ConcatDataset',
        ...                  datasets=[labelled_dataset, unlabelled_dataset]))

    Args:
        dataset (ConcatDataset): ``ConcatDataset`` of the labelled and the
            unlabelled dataset, in this order.
        batch_size (int): Images per batch on each rank; must equal the
            dataloader's ``batch_size``.
        num_labelled (int, optional): Labelled images per batch, in
            ``[1, batch_size]``. Defaults to ``batch_size // 2`` (at least 1),
            the equal split used by ReCo.
        shuffle (bool): Whether each pass over a source is a random
            permutation (otherwise its indices are taken in order).
            Defaults to True.
        seed (int, optional): Random seed shared by all ranks. ``None`` draws
            one on rank 0 and broadcasts it. Defaults to None.
        rank (int, optional): Rank of this process. Defaults to the rank
            reported by ``mmengine.dist.get_dist_info()``.
        world_size (int, optional): Number of processes. Defaults to the
            world size reported by ``mmengine.dist.get_dist_info()``.
    """

    def __init__(self,
                 dataset: ConcatDataset,
                 batch_size: int,
                 num_labelled: Optional[int] = None,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None) -> None:
        if not isinstance(dataset, ConcatDataset):
            raise TypeError(
                'LabelledUnlabelledSampler needs a ConcatDataset of '
                '[labelled, unlabelled] datasets, but got '
                f'{type(dataset).__name__}')
        if len(dataset.datasets) != NUM_SOURCES:
            raise ValueError(
                'LabelledUnlabelledSampler needs a ConcatDataset of exactly '
                f'{NUM_SOURCES} datasets ([labelled, unlabelled]), but got '
                f'{len(dataset.datasets)}')
        if (not isinstance(batch_size, int) or isinstance(batch_size, bool)
                or batch_size < 1):
            raise ValueError(
                f'batch_size must be a positive integer, but got {batch_size}')
        if num_labelled is None:
            num_labelled = max(batch_size // 2, 1)
        if (not isinstance(num_labelled, int)
                or isinstance(num_labelled, bool)
                or not 1 <= num_labelled <= batch_size):
            raise ValueError(
                'num_labelled must be an integer in [1, batch_size='
                f'{batch_size}], but got {num_labelled}')

        dist_rank, dist_world_size = get_dist_info()
        self.rank = dist_rank if rank is None else rank
        self.world_size = (dist_world_size
                           if world_size is None else world_size)
        if self.world_size < 1 or not 0 <= self.rank < self.world_size:
            raise ValueError(f'invalid rank {self.rank} for world size '
                             f'{self.world_size}')

        self.dataset = dataset
        self.batch_size = batch_size
        self.num_labelled = num_labelled
        self.num_unlabelled = batch_size - num_labelled
        self.shuffle = shuffle
        self.source_sizes = [len(ds) for ds in dataset.datasets]
        if self.source_sizes[0] == 0:
            raise ValueError(
                'the labelled dataset (first in the ConcatDataset) is empty')
        if self.num_unlabelled > 0 and self.source_sizes[1] == 0:
            raise ValueError(
                'the unlabelled dataset (second in the ConcatDataset) is '
                f'empty, but {self.num_unlabelled} unlabelled images per '
                'batch were requested; use num_labelled=batch_size for '
                'labelled-only batches')
        # Index of the first element of each source in the ConcatDataset.
        self.source_offsets = [0, self.source_sizes[0]]
        self.seed = self._shared_seed(seed)

    @staticmethod
    def _shared_seed(seed: Optional[int]) -> int:
        """Return rank 0's seed on every rank (a random one if ``None``).

        Broadcasting an explicit seed as well keeps the rank streams disjoint
        when the runner offsets its seed by rank (``diff_rank_seed=True``).
        """
        if seed is None:
            return sync_random_seed()
        shared = [int(seed)]
        broadcast_object_list(shared, src=0)  # no-op when not distributed
        return shared[0]

    def _permutation(self, source: int, epoch: int) -> np.ndarray:
        """Order of the indices of ``source`` in its pass number ``epoch``.

        Args:
            source (int): 0 for the labelled, 1 for the unlabelled set.
            epoch (int): Pass over the source, counted from 0.

        Returns:
            np.ndarray: Permutation of ``range(len(source))``, shape (S, ).
        """
        size = self.source_sizes[source]
        if not self.shuffle:
            return np.arange(size)
        # SeedSequence mixes the three entries, so that e.g. (seed, 0, 1) and
        # (seed, 1, 0) give unrelated permutations. Negative seeds are mapped
        # to their unsigned 64-bit value.
        rng = np.random.default_rng([self.seed % 2**64, source, epoch])
        return rng.permutation(size)

    def _source_stream(self, source: int) -> Iterator[int]:
        """Infinite stream of this rank's indices of one source.

        The global stream of ``source`` is the concatenation of its
        permutations; this rank takes every ``world_size``-th element of it,
        starting at element ``rank``.

        Args:
            source (int): 0 for the labelled, 1 for the unlabelled set.

        Yields:
            int: Index into the ``ConcatDataset``.
        """
        size = self.source_sizes[source]
        offset = self.source_offsets[source]
        position = 0  # global position of the first element of the pass
        for epoch in itertools.count():
            first = (self.rank - position) % self.world_size
            perm = self._permutation(source, epoch)[first::self.world_size]
            yield from (perm + offset).tolist()
            position += size

    def __iter__(self) -> Iterator[int]:
        """Yield indices in chunks of ``batch_size``, labelled ones first."""
        labelled = self._source_stream(0)
        unlabelled = (self._source_stream(1)
                      if self.num_unlabelled > 0 else None)
        while True:
            yield from itertools.islice(labelled, self.num_labelled)
            if unlabelled is not None:
                yield from itertools.islice(unlabelled, self.num_unlabelled)

    def __len__(self) -> int:
        """Size of the whole ``ConcatDataset``, as ``InfiniteSampler``."""
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """No-op: the stream is infinite and has no epochs to set."""
