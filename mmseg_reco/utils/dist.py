"""Distributed launch helpers."""
import logging
from typing import Any, List

import torch
import torch.distributed as dist
from mmengine.logging import print_log

#: Norm layer types that synchronise statistics over ranks, and the plain
#: layer each falls back to on CPUs (torch's SyncBatchNorm needs CUDA).
SYNC_NORM_FALLBACK = {'SyncBN': 'BN', 'MMSyncBN': 'BN'}


def revert_sync_norm_cfg(cfg: Any) -> List[str]:
    """Replace every SyncBN ``norm_cfg`` in a (nested) config by BN, in place.

    Args:
        cfg (dict | list): e.g. ``cfg.model``.

    Returns:
        list[str]: the replaced types, one entry per replacement.
    """
    replaced = []
    if isinstance(cfg, dict):
        norm_type = cfg.get('type')
        if isinstance(norm_type, str) and norm_type in SYNC_NORM_FALLBACK:
            cfg['type'] = SYNC_NORM_FALLBACK[norm_type]
            replaced.append(norm_type)
        for value in cfg.values():
            replaced += revert_sync_norm_cfg(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            replaced += revert_sync_norm_cfg(value)
    return replaced


def init_cpu_dist(cfg) -> None:
    """Start the gloo process group for ``--launcher pytorch`` without CUDA.

    mmengine's ``init_dist`` selects a CUDA device for every rank, which
    fails on a machine without one. The Runner skips its own initialisation
    when the process group already exists, so starting it here with gloo
    lets ``tools/dist_train.sh CONFIG 2`` run on CPUs.

    mmengine's Runner gives the DDP wrapper ``device_ids=[LOCAL_RANK]``,
    which torch refuses for a CPU module; ``model_wrapper_cfg`` gets
    ``device_ids=None`` here (mmengine's default wrapper when the config
    has none).

    torch's ``SyncBatchNorm`` refuses CPU tensors under a process group
    ("SyncBatchNorm expected input tensor to be on GPU ..."), so SyncBN
    layers of ``cfg.model`` become BN here, with a warning: each rank then
    normalises with its own batch statistics.

    Args:
        cfg (Config): the run's config; ``cfg.launcher`` must be set.
    """
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    env_cfg = cfg.setdefault('env_cfg', {})
    env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper
    if cfg.get('sync_bn'):  # the Runner's BN -> SyncBN conversion
        cfg.sync_bn = None
        print_log('sync_bn is ignored on CPU (gloo)', logger='current',
                  level=logging.WARNING)
    if revert_sync_norm_cfg(cfg.get('model')):
        print_log(
            'SyncBN needs CUDA: on CPU with gloo the SyncBN layers of the '
            'model are built as BN (per-rank batch statistics)',
            logger='current',
            level=logging.WARNING)
