"""Image files that cannot be read: why, and what the datasets do.

Unlabelled images are skipped (:class:`UnlabelledDataset`, which records
the skipped paths in the replacing sample under :data:`UNREADABLE_KEY`);
labelled and validation files stop the run with an error naming the file
(:func:`raise_if_unreadable`).
"""
from typing import Any, List, Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np
#: Meta key of a data sample: the unlabelled image paths skipped (list of
#: str) before this sample was drawn in their place.
UNREADABLE_KEY = 'unreadable_skipped'


def redraw_index(idx: int, attempt: int, length: int) -> int:
    """The index drawn after index ``idx`` failed at the ``attempt``-th try.

    A function of its arguments alone (not of a worker's random state), so
    that a run replays the same images whatever the worker layout.

    Args:
        idx (int): the index that could not be used.
        attempt (int): 0 for the first redraw of an item, 1 for the next.
        length (int): the dataset length.

    Returns:
        int: an index in ``[0, length)``.
    """
    rng = np.random.default_rng([idx, attempt])
    return int(rng.integers(length))


def unreadable_reason(path: str,
                      decode_args: Optional[dict] = None,
                      backend_args: Optional[dict] = None) -> Optional[str]:
    """Why an image file cannot be read, or None when it decodes.

    Args:
        path (str): The image file.
        decode_args (dict, optional): ``flag`` and ``backend`` for
            :func:`mmcv.imfrombytes`, as the pipeline's loader decodes.
            Default: colour, cv2.
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        str | None: ``'missing'``, ``'empty file (0 bytes)'``,
        ``'cannot be decoded (truncated or not an image)'``, or None.
    """
    try:
        data = fileio.get(path, backend_args=backend_args)
    except (FileNotFoundError, OSError):
        return 'missing'
    if len(data) == 0:
        return 'empty file (0 bytes)'
    try:
        img = mmcv.imfrombytes(data, **(decode_args or {}))
    except Exception:
        img = None
    if img is None:
        return 'cannot be decoded (truncated or not an image)'
    return None


def mark_unreadable(data: Any, paths: List[str]) -> None:
    """Record ``paths`` in the data sample of a pipeline output (a dict with
    ``data_samples``, as ``PackSegInputs`` returns) under
    :data:`UNREADABLE_KEY`; other outputs are left as they are."""
    sample = data.get('data_samples') if isinstance(data, dict) else None
    if sample is not None and hasattr(sample, 'set_metainfo'):
        sample.set_metainfo({UNREADABLE_KEY: list(paths)})


def decode_args(pipeline) -> dict:
    """``flag`` and ``backend`` of the image loader of ``pipeline`` (an
    mmengine ``Compose``), as :func:`mmcv.imfrombytes` takes them."""
    for t in getattr(pipeline, 'transforms', ()):
        if hasattr(t, 'imdecode_backend') and hasattr(t, 'color_type'):
            return dict(flag=t.color_type, backend=t.imdecode_backend)
    return dict(flag='color', backend='cv2')


def raise_if_unreadable(info: dict, pipeline, backend_args: Optional[dict],
                        error: Exception) -> None:
    """After ``error`` in a pipeline: raise an error naming the image or
    label map of ``info`` when that file cannot be read; return otherwise.

    Args:
        info (dict): The data info (``img_path``, ``seg_map_path``).
        pipeline: The dataset's pipeline (its loader's decoding settings).
        backend_args (dict, optional): mmengine file backend arguments.
        error (Exception): The pipeline's error (chained).

    Raises:
        OSError: The file cannot be read; the message names it, says why,
            and what to do.
    """
    checks = [('image', info.get('img_path'), decode_args(pipeline))]
    if info.get('seg_map_path'):
        checks.append(('label map', info['seg_map_path'],
                       dict(flag='unchanged', backend='pillow')))
    for what, path, args in checks:
        if not path:
            continue
        reason = unreadable_reason(path, args, backend_args)
        if reason is not None:
            raise OSError(
                f'{what} {path!r} cannot be read: {reason}. Labelled and '
                'validation files are never skipped: replace or remove it '
                '(tools/check_data.py CONFIG lists every bad file)'
            ) from error
