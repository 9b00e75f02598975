"""Read what mmengine writes for a training run.

A work dir holds one sub-folder per launch (``<timestamp>/``), each with
``<timestamp>.log`` (the text log) and ``vis_data/scalars.json`` (one JSON
object per line: training records carry ``iter`` and the losses, validation
records the metrics, e.g. ``aAcc``/``mIoU``/``mAcc``; both carry ``step``,
the iteration). A resumed run adds a launch; records are merged in launch
order, a later launch replacing the records of the steps it repeats.

Per-class figures come from ``vis_data/scalars.json`` when the run was
evaluated with ``PerClassIoUMetric`` (keys ``IoU.<class>``), and otherwise
from the per-class table that mmseg's ``IoUMetric`` prints into the text log.
"""
import glob
import json
import os.path as osp
import re
from typing import Dict, List, Optional

#: Keys of an mmseg validation record that identify it.
METRIC_KEYS = ('mIoU', 'aAcc')
#: Prefix of the per-class IoU keys written by ``PerClassIoUMetric``.
CLASS_IOU_PREFIX = 'IoU.'
_TIMESTAMP = re.compile(r'^\d{8}_\d{6}$')


def launch_dirs(work_dir: str) -> List[str]:
    """The ``<timestamp>`` folders of a work dir, oldest first.

    Args:
        work_dir (str): a run's work dir (or one ``<timestamp>`` folder).

    Returns:
        list[str]: folders holding a log or ``vis_data``.
    """
    if _TIMESTAMP.match(osp.basename(osp.normpath(work_dir))):
        return [work_dir]
    dirs = [
        d for d in sorted(glob.glob(osp.join(work_dir, '*')))
        if osp.isdir(d) and _TIMESTAMP.match(osp.basename(d))
    ]
    return dirs


def load_scalars(work_dir: str) -> List[dict]:
    """All records of ``vis_data/scalars.json`` over the run's launches.

    Args:
        work_dir (str): a run's work dir.

    Returns:
        list[dict]: records in step order; for a step logged by several
        launches (a resume), the records of the latest launch.
    """
    merged: Dict[tuple, dict] = {}
    for launch in launch_dirs(work_dir):
        path = osp.join(launch, 'vis_data', 'scalars.json')
        if not osp.isfile(path):
            continue
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                record = json.loads(line)
                kind = 'val' if is_val_record(record) else 'train'
                merged[(kind, record.get('step', record.get('iter', 0)))] = (
                    record)
    return sorted(merged.values(),
                  key=lambda r: (r.get('step', r.get('iter', 0)),
                                 is_val_record(r)))


def is_val_record(record: dict) -> bool:
    """Whether a scalars record holds validation metrics."""
    return any(key in record for key in METRIC_KEYS)


def split_records(records: List[dict]):
    """Split records into training and validation records.

    Returns:
        tuple[list[dict], list[dict]]: training records, validation records.
    """
    train = [r for r in records if not is_val_record(r)]
    val = [r for r in records if is_val_record(r)]
    return train, val


def parse_class_tables(log_path: str) -> List[Dict[str, Dict[str, float]]]:
    """Per-class tables that mmseg's ``IoUMetric`` printed into a log.

    The table follows a ``per class results:`` line::

        +------------+-------+-------+
        |   Class    |  IoU  |  Acc  |
        +------------+-------+-------+
        | background | 97.61 | 98.9  |
        ...

    Cells that are ``nan`` become ``float('nan')``. Class names may hold
    spaces and slashes; a table cut short (an interrupted run) is dropped.

    Args:
        log_path (str): the text log.

    Returns:
        list[dict]: one ``{class: {column: value}}`` per evaluation, in log
        order.
    """
    tables = []
    with open(log_path, errors='replace') as f:
        lines = f.read().splitlines()
    i = 0
    while i < len(lines):
        if 'per class results:' not in lines[i]:
            i += 1
            continue
        i += 1
        # skip to the first border line
        while i < len(lines) and not lines[i].strip().startswith('+'):
            i += 1
        rows, header, borders = [], None, 0
        while i < len(lines):
            text = lines[i].strip()
            if text.startswith('+'):
                borders += 1
                i += 1
                if borders == 3:
                    break
                continue
            if not text.startswith('|'):
                break
            cells = [c.strip() for c in text.strip('|').split('|')]
            if header is None:
                header = cells
            else:
                rows.append(cells)
            i += 1
        if borders < 3 or header is None or header[0] != 'Class':
            continue
        table = {}
        for cells in rows:
            if len(cells) != len(header):
                continue
            table[cells[0]] = {
                column: _to_float(cell)
                for column, cell in zip(header[1:], cells[1:])
            }
        tables.append(table)
    return tables


def _to_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float('nan')


def read_evaluation(work_dir: str, select: str = 'last',
                    metric: str = 'mIoU') -> Optional[dict]:
    """One evaluation of a run: summary metrics and per-class IoU.

    Args:
        work_dir (str): a run's work dir.
        select (str): ``'last'`` (the final evaluation) or ``'best'`` (the
            evaluation with the highest ``metric``). Default: ``'last'``.
        metric (str): the metric ``'best'`` ranks by. Default: ``'mIoU'``.

    Returns:
        dict | None: ``step``, the summary metrics (``mIoU``, ``aAcc``, ...)
        and ``classes``, a dict ``{class: IoU}`` (percent; empty when the
        run logged none); None when the run has no evaluation.
    """
    if select not in ('last', 'best'):
        raise ValueError(f"select must be 'last' or 'best', got {select!r}")
    _, val = split_records(load_scalars(work_dir))
    if not val:
        return None
    index = (len(val) - 1 if select == 'last' else max(
        range(len(val)), key=lambda k: val[k].get(metric, float('-inf'))))
    record = val[index]
    result = {
        key: value
        for key, value in record.items()
        if not key.startswith(CLASS_IOU_PREFIX) and '.' not in key
    }
    classes = {
        key[len(CLASS_IOU_PREFIX):]: value
        for key, value in record.items() if key.startswith(CLASS_IOU_PREFIX)
    }
    if not classes:
        tables = []
        for launch in launch_dirs(work_dir):
            for log in sorted(glob.glob(osp.join(launch, '*.log'))):
                tables.extend(parse_class_tables(log))
        # the log's tables line up with the validation records, unless a
        # resume repeated some: count from the end
        offset = len(val) - index
        if 0 < offset <= len(tables):
            table = tables[len(tables) - offset]
            classes = {
                name: row['IoU']
                for name, row in table.items() if 'IoU' in row
            }
    result['classes'] = classes
    return result


def config_name(work_dir: str) -> Optional[str]:
    """The name of the config a run was launched with.

    mmengine dumps the config into the work dir as ``<config name>.py``.

    Returns:
        str | None: the config's file stem, or None when there is none (or
        several).
    """
    configs = sorted(glob.glob(osp.join(work_dir, '*.py')))
    if len(configs) != 1:
        return None
    return osp.splitext(osp.basename(configs[0]))[0]
