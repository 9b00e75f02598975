"""Precise BatchNorm statistics of a network: re-estimated, not averaged.

A BatchNorm layer's running statistics are an exponential moving average
of the batch statistics it saw in train mode. For an EMA teacher that only
labels in train mode they come from its own passes over the weak unlabelled
view, not from the data its averaged weights were trained on. Precise BN
(Wu & Johnson, *Rethinking "Batch" in BatchNorm*, arXiv 2105.07576, Sec. 3;
detectron2's ``update_bn_stats``, fvcore's ``precise_bn``) replaces them by
the true mean over ``N`` batches of the network's current weights:

.. math::

    \\mu = \\frac{1}{N} \\sum_{b=1}^{N} \\mu_b, \\qquad
    \\sigma^2 = \\frac{1}{N} \\sum_{b=1}^{N} \\sigma^2_b

with :math:`\\mu_b` the per-channel mean and :math:`\\sigma^2_b` the
unbiased per-channel variance of batch :math:`b` (what BatchNorm feeds its
running statistics), computed as PyTorch's cumulative average
(``momentum=None``).
"""
import contextlib
import random
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.dataset import pseudo_collate
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import DataLoader, Dataset

from .teacher_mode import set_teacher_mode

#: Buffers of a BatchNorm layer that precise BN rewrites.
BN_BUFFERS = ('running_mean', 'running_var', 'num_batches_tracked')


def running_stat_norms(net: nn.Module) -> List[Tuple[str, _BatchNorm]]:
    """(name, layer) of every BatchNorm (``_BatchNorm`` subclass: BN, SyncBN)
    of ``net`` that tracks running statistics."""
    return [(name, m) for name, m in net.named_modules()
            if isinstance(m, _BatchNorm) and m.track_running_stats
            and m.running_mean is not None]


def bn_buffers(net: nn.Module) -> Dict[str, torch.Tensor]:
    """Copies of the running statistics of :func:`running_stat_norms`,
    keyed as in ``net.state_dict()``."""
    out = {}
    for name, module in running_stat_norms(net):
        prefix = f'{name}.' if name else ''
        for buf in BN_BUFFERS:
            value = getattr(module, buf, None)
            if value is not None:
                out[prefix + buf] = value.detach().clone()
    return out


def segmentor_forward(net: nn.Module, inputs: torch.Tensor) -> None:
    """Run every BatchNorm of an mmseg segmentor that prediction or the
    teacher's labelling uses: backbone (and neck), decode head (whole, as
    the teacher labels) and auxiliary heads. A network without
    ``extract_feat`` is called on the inputs.

    Args:
        net (nn.Module): an mmseg ``EncoderDecoder``.
        inputs (Tensor): (N, 3, H, W) preprocessed images.
    """
    if not hasattr(net, 'extract_feat'):
        net(inputs)
        return
    feats = net.extract_feat(inputs)
    net.decode_head.forward(feats)
    aux = getattr(net, 'auxiliary_head', None)
    if aux is not None:
        for head in (aux if isinstance(aux, nn.ModuleList) else [aux]):
            head.forward(feats)


@torch.no_grad()
def update_bn_stats(
    net: nn.Module,
    batches: Iterator[torch.Tensor],
    forward: Callable[[nn.Module, torch.Tensor], Any] = segmentor_forward
) -> int:
    """Set the running statistics of ``net``'s BatchNorm layers to the mean
    of the statistics of ``batches`` (the module doc's equation).

    Every BatchNorm is reset, run with ``momentum=None`` (cumulative
    average) in train mode over the batches, and given back its momentum.
    Dropout and drop-path stay off, and every module's train/eval mode is
    restored afterwards. A BatchNorm that no batch reached keeps its
    previous statistics. ``num_batches_tracked`` ends as the number of
    batches a layer saw. Parameters are not touched.

    Args:
        net (nn.Module): the network (e.g. the teacher).
        batches (Iterator[Tensor]): the inputs, one batch per item.
        forward (callable): ``forward(net, batch)``; runs the layers.
            Default: :func:`segmentor_forward`.

    Returns:
        int: the number of batches run.
    """
    norms = running_stat_norms(net)
    old = bn_buffers(net)
    modes = [(m, m.training) for m in net.modules()]
    momenta = [(m, m.momentum) for _, m in norms]
    for _, module in norms:
        module.reset_running_stats()
        module.momentum = None
    set_teacher_mode(net, norm_train=True, dropout=False)
    count = 0
    try:
        for inputs in batches:
            forward(net, inputs)
            count += 1
    finally:
        for module, momentum in momenta:
            module.momentum = momentum
        for module, training in modes:
            module.training = training
    for name, module in norms:
        if int(module.num_batches_tracked) == 0:
            prefix = f'{name}.' if name else ''
            for buf in BN_BUFFERS:
                if prefix + buf in old:
                    getattr(module, buf).copy_(old[prefix + buf])
    return count


@contextlib.contextmanager
def seeded_random_state(seed: int):
    """Seed Python's, NumPy's and torch's generators (CPU and CUDA) with
    ``seed`` inside the block, and give them back their states after it,
    so that what runs inside is repeatable and leaves the random streams
    of training where they were."""
    py_state, np_state = random.getstate(), np.random.get_state()
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() \
        else []
    with torch.random.fork_rng(devices=devices):
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


#: where a precise estimate draws its images from (``precise_source``)
PRECISE_SOURCES = ('labelled', 'unlabelled')


def training_part(dataset: Any, source: str = 'labelled') -> Any:
    """One source of a training set, config or built.

    Args:
        dataset: the training set: a ``ConcatDataset`` of the labelled and
            the unlabelled set (the order :class:`LabelledUnlabelledSampler`
            reads), or one set.
        source (str): ``'labelled'``, the first dataset (a single set is its
            own labelled source); ``'unlabelled'``, the second, with its own
            pipeline (the weak view the teacher labels).

    Raises:
        ValueError: for an unknown source, or ``'unlabelled'`` of a set
            without a second dataset.
    """
    if source not in PRECISE_SOURCES:
        raise ValueError(f'precise_source must be one of {PRECISE_SOURCES}, '
                         f'got {source!r}')
    if isinstance(dataset, dict):
        datasets = (dataset['datasets']
                    if dataset.get('type') == 'ConcatDataset' else None)
    else:
        datasets = getattr(dataset, 'datasets', None)
    if source == 'labelled':
        return datasets[0] if datasets else dataset
    if not datasets or len(datasets) < 2:
        raise ValueError(
            "precise_source='unlabelled' needs a training set of two "
            'datasets (ConcatDataset of the labelled and the unlabelled '
            "set); this one has none: use precise_source='labelled'")
    return datasets[1]


def labelled_batch_size(loader: Any) -> int:
    """Labelled images per training batch: the sampler's ``num_labelled``,
    else the loader's ``batch_size`` (a ``DataLoader`` or its config)."""
    if isinstance(loader, dict):
        sampler = loader.get('sampler') or {}
        return int(sampler.get('num_labelled') or loader['batch_size'])
    return int(
        getattr(loader.sampler, 'num_labelled', None) or loader.batch_size)


def labelled_batches(dataset: Dataset, data_preprocessor: nn.Module,
                     num_batches: int, batch_size: int,
                     seed: int = 0) -> Iterator[torch.Tensor]:
    """``num_batches`` preprocessed batches of ``dataset``, shuffled by a
    generator seeded with ``seed``, cycling over the set when it is
    smaller. The pipeline's random transforms draw from the global
    generators: run it inside :func:`seeded_random_state`.

    Args:
        dataset (Dataset): the labelled training set with its pipeline.
        data_preprocessor (nn.Module): the segmentor's preprocessor (run in
            training mode, as on a training batch).
        num_batches (int): N.
        batch_size (int): images per batch.
        seed (int): seed of the shuffling. Default: 0.

    Yields:
        Tensor: (batch_size, 3, H, W) inputs on the preprocessor's device.
    """
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        drop_last=len(dataset) >= batch_size,
        num_workers=0,
        collate_fn=pseudo_collate,
        generator=torch.Generator().manual_seed(seed))
    count = 0
    while count < num_batches:
        for data in loader:
            yield data_preprocessor(data, True)['inputs']
            count += 1
            if count == num_batches:
                return


def precise_bn_stats(net: nn.Module,
                     dataset: Dataset,
                     data_preprocessor: nn.Module,
                     num_batches: int,
                     batch_size: int,
                     seed: int = 0,
                     forward: Optional[Callable] = None) -> int:
    """Re-estimate ``net``'s BatchNorm statistics over ``num_batches``
    batches of ``dataset`` (:func:`update_bn_stats` on
    :func:`labelled_batches`), repeatably and without moving the global
    random generators (:func:`seeded_random_state`).

    Returns:
        int: the number of batches run.

    Raises:
        ValueError: for a bad ``num_batches``/``batch_size`` or an empty
            dataset.
    """
    if num_batches < 1 or batch_size < 1:
        raise ValueError('precise BN needs num_batches >= 1 and batch_size '
                         f'>= 1, got {num_batches} and {batch_size}')
    if len(dataset) == 0:
        raise ValueError('precise BN: the labelled training set is empty')
    with seeded_random_state(seed):
        return update_bn_stats(
            net,
            labelled_batches(dataset, data_preprocessor, num_batches,
                             batch_size, seed),
            forward or segmentor_forward)
