"""One optimiser wrapper per sub-module: mmengine's ``OptimWrapperDict``."""
import copy
from typing import Optional

import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict

from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Build an :class:`~mmengine.optim.OptimWrapperDict` keyed by sub-module.

    mmengine builds one optimiser wrapper per model unless a constructor
    returns an ``OptimWrapperDict``; this one (after mmagic's constructor of
    the same name) builds one wrapper for each key of the config, over the
    parameters of the model's sub-module of that name, so that a model's
    ``train_step`` can step them separately (e.g. a segmentation network and
    a discriminator, as in S4GAN)::

        optim_wrapper = dict(
            constructor='MultiOptimWrapperConstructor',
            student=dict(
                type='OptimWrapper',
                optimizer=dict(type='SGD', lr=2.5e-3, momentum=0.9)),
            discriminator=dict(
                type='OptimWrapper',
                optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99))))

    Every value is an ordinary single-wrapper config; it may hold its own
    ``constructor`` (default ``DefaultOptimWrapperConstructor``) and
    ``paramwise_cfg``. Sub-modules not named (a mean teacher, the data
    preprocessor) are not optimised. The wrappers' state dicts are saved in
    checkpoints under their keys and restored on resume.

    Args:
        optim_wrapper_cfg (dict): one wrapper config per sub-module name.
        paramwise_cfg (dict, optional): must be None; give ``paramwise_cfg``
            inside each wrapper config instead.

    Raises:
        ValueError: if a value is not a dict or ``paramwise_cfg`` is given.
        AttributeError: (when called) if the model has no sub-module of a
            configured name.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        if not isinstance(optim_wrapper_cfg, dict):
            raise ValueError('optim_wrapper_cfg must be a dict of wrapper '
                             f'configs, got {type(optim_wrapper_cfg)}')
        if paramwise_cfg is not None:
            raise ValueError(
                'MultiOptimWrapperConstructor takes paramwise_cfg inside each '
                "sub-module's wrapper config, not at the top level")
        for name, cfg in optim_wrapper_cfg.items():
            if not isinstance(cfg, dict):
                raise ValueError(f'optim_wrapper.{name} must be a wrapper '
                                 f'config (dict), got {cfg!r}')
        self.optim_wrapper_cfg = copy.deepcopy(optim_wrapper_cfg)

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        """Build the wrappers over ``model``'s named sub-modules.

        Args:
            model (nn.Module): the model, possibly wrapped (DDP).

        Returns:
            OptimWrapperDict: one ``OptimWrapper`` per configured name.
        """
        if is_model_wrapper(model):
            model = model.module
        wrappers = {}
        for name, cfg in self.optim_wrapper_cfg.items():
            if not isinstance(getattr(model, name, None), nn.Module):
                raise AttributeError(
                    f'optim_wrapper.{name}: {type(model).__name__} has no '
                    f'sub-module {name!r}')
            cfg = copy.deepcopy(cfg)
            constructor_type = cfg.pop('constructor',
                                       'DefaultOptimWrapperConstructor')
            paramwise_cfg = cfg.pop('paramwise_cfg', None)
            constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
                dict(
                    type=constructor_type,
                    optim_wrapper_cfg=cfg,
                    paramwise_cfg=paramwise_cfg))
            wrappers[name] = constructor(getattr(model, name))
        return OptimWrapperDict(**wrappers)
