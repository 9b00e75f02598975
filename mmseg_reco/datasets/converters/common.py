"""Helpers shared by the converters."""
from multiprocessing import get_context
from typing import Callable, List, Optional, Sequence, Tuple


def parse_size(text: Optional[str]) -> Optional[Tuple[int, int]]:
    """``'1024x512'`` -> (1024, 512) (width, height); None/'none' -> None."""
    if text is None or str(text).lower() == 'none':
        return None
    try:
        width, height = (int(v) for v in str(text).lower().split('x'))
    except ValueError:
        raise ValueError(f'size {text!r} must be WIDTHxHEIGHT or none') \
            from None
    return width, height


def map_items(func: Callable, items: Sequence, nproc: int = 1) -> List:
    """``[func(item) for item in items]``, in ``nproc`` forked worker
    processes when ``nproc > 1``."""
    if nproc > 1 and len(items) > 1:
        with get_context('fork').Pool(nproc) as pool:
            return pool.map(func, items,
                            chunksize=max(1, len(items) // (8 * nproc)))
    return [func(item) for item in items]
