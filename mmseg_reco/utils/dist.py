"""Distributed launch helpers."""
import torch
import torch.distributed as dist


def init_cpu_dist(cfg) -> None:
    """Start the gloo process group for ``--launcher pytorch`` without CUDA.

    mmengine's ``init_dist`` selects a CUDA device for every rank, which
    fails on a machine without one. The Runner skips its own initialisation
    when the process group already exists, so starting it here with gloo
    lets ``tools/dist_train.sh CONFIG 2`` run on CPUs.

    Args:
        cfg (Config): the run's config; ``cfg.launcher`` must be set.
    """
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    env_cfg = cfg.setdefault('env_cfg', {})
    env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
