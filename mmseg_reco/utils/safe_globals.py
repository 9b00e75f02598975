"""Allow-list the classes that mmengine checkpoints contain.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True`` and refuses
to unpickle anything that is not a tensor, a builtin container or an
explicitly allow-listed class. mmengine 0.10.x calls ``torch.load`` without
``weights_only`` and stores, besides the model and optimiser state, the
``MessageHub`` state (``HistoryBuffer`` objects holding numpy arrays) and
numpy scalars in ``meta``. Loading such a checkpoint (``--resume``,
``load_from``) therefore fails under the new default.

:func:`register_safe_globals` adds exactly those classes to torch's
allow-list with :func:`torch.serialization.add_safe_globals`. The
``weights_only`` check itself stays on: a checkpoint that pickles any other
class is still refused.

One more piece is needed: ``HistoryBuffer.__getstate__`` pickles its
statistics functions (``HistoryBuffer.min`` ...), which protocol 2 writes as
``getattr(HistoryBuffer, 'min')``. Allow-listing ``builtins.getattr`` would
open the check to arbitrary attribute access, so instead
:func:`register_safe_globals` makes a ``HistoryBuffer`` pickle as a call of
the (allow-listed) class with its histories:
``HistoryBuffer(log_history, count_history, max_length)``. The statistics
functions are registered on the class at import time, so nothing is lost.
Checkpoints written before this change still hold ``getattr`` and are
refused with torch's error message.
"""
from typing import List

import numpy as np
import torch


def _numpy_globals() -> List[object]:
    """The numpy callables and classes that pickled arrays and scalars use."""
    try:  # numpy >= 2
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray
    found = [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype]
    # numpy >= 1.25 pickles dtypes through their own classes
    # (numpy.dtypes.Float64DType, ...); older versions use np.dtype alone.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        found += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
        ]
    return found


def safe_globals() -> List[object]:
    """Classes and functions that an mmengine checkpoint may pickle.

    Returns:
        list: the objects to allow-list.
    """
    from mmengine.logging import HistoryBuffer
    from mmengine.config import ConfigDict
    return [HistoryBuffer, ConfigDict] + _numpy_globals()


def _reduce_history_buffer(buffer, protocol):
    """Pickle a ``HistoryBuffer`` as a call of its constructor."""
    return (type(buffer), (buffer._log_history, buffer._count_history,
                           buffer.max_length))


def register_safe_globals() -> None:
    """Allow-list mmengine's checkpoint classes for ``weights_only`` loads.

    Also makes ``HistoryBuffer`` pickle without function references (see
    the module docstring). The allow-list part is a no-op on torch versions
    without :func:`torch.serialization.add_safe_globals` (< 2.4), which do
    not default to ``weights_only=True`` either.
    """
    from mmengine.logging import HistoryBuffer
    HistoryBuffer.__reduce_ex__ = _reduce_history_buffer
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(safe_globals())
