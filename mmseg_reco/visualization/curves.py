"""Training-loss and validation-metric curves of several runs."""
from typing import Dict, List, Optional, Sequence

import numpy as np

from .run_logs import split_records


def smooth(values: Sequence[float], window: int) -> np.ndarray:
    """Moving average over ``window`` points (the first points average
    fewer).

    Args:
        values (Sequence[float]): (T,) values.
        window (int): window length; 1 or less returns the values.

    Returns:
        np.ndarray: (T,) smoothed values.
    """
    values = np.asarray(values, dtype=np.float64)
    if window <= 1 or values.size == 0:
        return values
    cumsum = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, values.size + 1)
    lo = np.maximum(idx - window, 0)
    return (cumsum[idx] - cumsum[lo]) / (idx - lo)


def curve(records: List[dict], key: str, x_key: str = 'step'):
    """The points of one key over the records that carry it.

    Returns:
        tuple[np.ndarray, np.ndarray]: x (iteration) and y values.
    """
    points = [(r.get(x_key, r.get('iter')), r[key]) for r in records
              if key in r and r.get(x_key, r.get('iter')) is not None]
    if not points:
        return np.zeros(0), np.zeros(0)
    x, y = zip(*points)
    return np.asarray(x, np.float64), np.asarray(y, np.float64)


def plot_curves(runs: Dict[str, List[dict]],
                path: str,
                loss_key: str = 'loss',
                metric: str = 'mIoU',
                groups: Optional[Dict[str, str]] = None,
                window: int = 1,
                title: Optional[str] = None) -> None:
    """Loss (left) and validation metric (right) against the iteration.

    Args:
        runs (dict[str, list[dict]]): per run label, its scalars records
            (``load_scalars``).
        path (str): output PNG.
        loss_key (str): training key to plot. Default: ``'loss'`` (the sum
            mmengine logs).
        metric (str): validation key to plot. Default: ``'mIoU'``.
        groups (dict[str, str], optional): run label -> method; runs of one
            method share a colour (and a legend entry). Default: each run
            its own colour.
        window (int): moving-average window of the loss, in logged points.
            Default: 1 (none).
        title (str, optional): figure title.
    """
    import matplotlib.pyplot as plt

    groups = groups or {label: label for label in runs}
    methods = list(dict.fromkeys(groups.get(k, k) for k in runs))
    cycle = plt.rcParams['axes.prop_cycle'].by_key()['color']
    colour = {m: cycle[i % len(cycle)] for i, m in enumerate(methods)}
    styles = ['-', '--', ':', '-.']
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(11, 4))
    seen, count = set(), {}
    for label, records in runs.items():
        method = groups.get(label, label)
        k = count[method] = count.get(method, -1) + 1
        train, val = split_records(records)
        legend = method if method not in seen else None
        seen.add(method)
        x, y = curve(train, loss_key)
        ax_loss.plot(x, smooth(y, window), styles[k % len(styles)],
                     color=colour[method], label=legend, linewidth=1)
        x, y = curve(val, metric)
        ax_metric.plot(x, y, styles[k % len(styles)], marker='o',
                       markersize=3, color=colour[method], label=legend)
    ax_loss.set_xlabel('iteration')
    ax_loss.set_ylabel(loss_key + (f' (moving average {window})'
                                   if window > 1 else ''))
    ax_loss.set_title('training loss')
    ax_metric.set_xlabel('iteration')
    ax_metric.set_ylabel(metric)
    ax_metric.set_title(f'validation {metric}')
    for ax in (ax_loss, ax_metric):
        ax.grid(alpha=0.3)
    ax_metric.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
