"""Mixed precision without loss scaling: bfloat16 autocast on any device."""
from contextlib import contextmanager
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from mmseg.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose forward pass runs under ``torch.autocast``.

    mmengine's ``AmpOptimWrapper`` refuses to start without a GPU-like
    device and always builds a ``GradScaler``. bfloat16 has float32's
    exponent range, so it needs no loss scaling: this wrapper only enters
    ``torch.autocast(device_type, dtype)`` in :meth:`optim_context` (the
    model's forward and loss) and otherwise behaves as ``OptimWrapper``
    (plain backward, gradient clipping and accumulation, the same state
    dict). It is what ``tools/train.py --amp`` selects on a machine without
    CUDA; on CUDA ``--amp`` keeps mmengine's fp16 ``AmpOptimWrapper`` with
    dynamic loss scaling.

    The parameters, gradients and optimiser state stay float32; the losses
    of this package compute their sensitive parts (softmax statistics,
    similarities, the memory bank) in float32 under autocast.

    Args:
        dtype (str | torch.dtype): autocast dtype. Default: 'bfloat16'.
            float16 needs loss scaling: use ``AmpOptimWrapper`` instead.
        device_type (str, optional): autocast device type, ``'cpu'`` or
            ``'cuda'``. Default: None (``'cuda'`` when CUDA is available,
            else ``'cpu'``).
        **kwargs: passed to ``OptimWrapper`` (``optimizer``, ``clip_grad``,
            ``accumulative_counts``).
    """

    def __init__(self,
                 dtype: Union[str, torch.dtype] = 'bfloat16',
                 device_type: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(dtype, str):
            dtype = getattr(torch, dtype, None)
        if dtype != torch.bfloat16:
            raise ValueError(
                'AutocastOptimWrapper runs without loss scaling and supports '
                f'dtype=bfloat16 only, got {dtype}; use AmpOptimWrapper for '
                'float16')
        if device_type is None:
            device_type = 'cuda' if torch.cuda.is_available() else 'cpu'
        self.cast_dtype = dtype
        self.device_type = device_type

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient-accumulation context of ``OptimWrapper`` plus autocast.

        Args:
            model (nn.Module): the trained model.
        """
        with super().optim_context(model), torch.autocast(
                device_type=self.device_type, dtype=self.cast_dtype):
            yield
