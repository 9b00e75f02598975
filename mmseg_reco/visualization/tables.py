"""Per-class result tables over seeds, as the papers report them.

Methods are rows; classes, then the mean IoU, are columns (ReCo Table 1,
the memory-bank supplement's per-class tables). Each cell is the mean over
the runs (seeds) of a method and the range as half the spread,
``(max - min) / 2``, written ``mean ± half-range``.
"""
import csv
import math
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np

from .run_logs import config_name, read_evaluation

#: The column of the mean IoU in tables and CSV files.
MIOU = 'mIoU'
_SEED_DIR = re.compile(r'^(seed|s)[-_]?\d+$', re.IGNORECASE)
_SEED_SUFFIX = re.compile(r'[-_.](seed|s)[-_]?\d+$', re.IGNORECASE)


def method_of(work_dir: str, group: Optional[str] = None) -> str:
    """The method a run belongs to.

    Args:
        work_dir (str): the run's work dir.
        group (str, optional): a regular expression searched in the work
            dir's path; the method is its first group (or the whole match
            when it has none). A run it does not match raises.

    Returns:
        str: with ``group``, the match; otherwise the name of the config the
        run was launched with; otherwise the work dir's name without a seed
        suffix (``<name>_seed0`` -> ``<name>``; ``<name>/seed0`` ->
        ``<name>``).
    """
    path = osp.normpath(work_dir)
    if group is not None:
        match = re.search(group, path)
        if match is None:
            raise ValueError(f'--group {group!r} does not match {path!r}')
        return match.group(1) if match.groups() else match.group(0)
    name = config_name(work_dir)
    if name is not None:
        return name
    base = osp.basename(path)
    if _SEED_DIR.match(base):
        return osp.basename(osp.dirname(path))
    return _SEED_SUFFIX.sub('', base)


def collect_results(work_dirs: Sequence[str],
                    group: Optional[str] = None,
                    select: str = 'last',
                    names: Optional[Dict[str, str]] = None
                    ) -> 'OrderedDict[str, List[dict]]':
    """Read the evaluation of every run and group the runs into methods.

    Args:
        work_dirs (Sequence[str]): the runs' work dirs.
        group (str, optional): regular expression naming the method of a
            run, see :func:`method_of`.
        select (str): ``'last'`` or ``'best'`` evaluation of each run.
            Default: ``'last'``.
        names (dict, optional): explicit ``{work_dir: method}``; overrides
            ``group``.

    Returns:
        OrderedDict[str, list[dict]]: per method (in first-seen order), the
        evaluations (see :func:`read_evaluation`) with ``work_dir`` added.
        Runs without an evaluation are skipped with a warning.
    """
    methods: 'OrderedDict[str, List[dict]]' = OrderedDict()
    for work_dir in work_dirs:
        result = read_evaluation(work_dir, select=select)
        if result is None:
            print(f'warning: {work_dir} has no evaluation; skipped')
            continue
        result['work_dir'] = work_dir
        method = (names or {}).get(work_dir) or method_of(work_dir, group)
        methods.setdefault(method, []).append(result)
    return methods


def class_order(methods: Dict[str, List[dict]],
                class_names: Optional[Sequence[str]] = None) -> List[str]:
    """The class columns: ``class_names``, or every class seen, in order."""
    if class_names is not None:
        return list(class_names)
    seen: 'OrderedDict[str, None]' = OrderedDict()
    for runs in methods.values():
        for run in runs:
            for name in run.get('classes', {}):
                seen[name] = None
    return list(seen)


def mean_and_half_range(values: Sequence[float]) -> tuple:
    """Mean and half the spread of the finite values.

    Args:
        values (Sequence[float]): one figure per run; NaN values are left
            out.

    Returns:
        tuple[float, float, int]: mean, ``(max - min) / 2`` and the number
        of finite values; ``(nan, nan, 0)`` when there are none.
    """
    finite = np.asarray([v for v in values if v is not None], np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return float('nan'), float('nan'), 0
    return (float(finite.mean()), float((finite.max() - finite.min()) / 2),
            int(finite.size))


def aggregate(methods: Dict[str, List[dict]],
              class_names: Optional[Sequence[str]] = None,
              summary: Sequence[str] = (MIOU, )
              ) -> 'OrderedDict[str, OrderedDict]':
    """Mean and half-range of every column for every method.

    Args:
        methods (dict[str, list[dict]]): per method, the runs' evaluations
            (``classes`` holds the per-class IoU; the summary keys the
            others).
        class_names (Sequence[str], optional): class columns; by default
            every class found, in order.
        summary (Sequence[str]): summary metrics appended as columns.
            Default: ``('mIoU',)``.

    Returns:
        OrderedDict[str, OrderedDict[str, tuple]]: per method and column,
        ``(mean, half_range, n)``; also the key ``'runs'`` with the number
        of runs.
    """
    classes = class_order(methods, class_names)
    table: 'OrderedDict[str, OrderedDict]' = OrderedDict()
    for method, runs in methods.items():
        row: 'OrderedDict[str, object]' = OrderedDict()
        for name in classes:
            row[name] = mean_and_half_range(
                [run.get('classes', {}).get(name, float('nan'))
                 for run in runs])
        for key in summary:
            row[key] = mean_and_half_range(
                [run.get(key, float('nan')) for run in runs])
        row['runs'] = len(runs)
        table[method] = row
    return table


def aggregate_work_dirs(work_dirs: Sequence[str],
                        group: Optional[str] = None,
                        select: str = 'last',
                        class_names: Optional[Sequence[str]] = None,
                        names: Optional[dict] = None):
    """Group runs into methods and aggregate them.

    Args:
        work_dirs (Sequence[str]): the runs.
        group (str, optional): regular expression naming a run's method.
        select (str): ``'last'`` or ``'best'`` evaluation. Default: last.
        class_names (Sequence[str], optional): class columns.
        names (dict, optional): explicit ``{work_dir: method}``.

    Returns:
        tuple[OrderedDict, OrderedDict]: the table (see :func:`aggregate`)
        and the runs per method (see :func:`collect_results`).

    Raises:
        ValueError: None of the work dirs holds an evaluation.
    """
    methods = collect_results(work_dirs, group=group, select=select,
                              names=names)
    if not methods:
        raise ValueError('none of the work dirs holds an evaluation')
    return aggregate(methods, class_names), methods


def _columns(table: Dict[str, Dict]) -> List[str]:
    for row in table.values():
        return [k for k in row if k != 'runs']
    return []


def _cell(stat: tuple, precision: int, with_range: bool) -> str:
    mean, half, num = stat
    if num == 0 or math.isnan(mean):
        return '-'
    if not with_range or num < 2:
        return f'{mean:.{precision}f}'
    return f'{mean:.{precision}f} ± {half:.{precision}f}'


def format_markdown(table: Dict[str, Dict],
                    precision: int = 1,
                    with_range: bool = True,
                    method_header: str = 'Method') -> str:
    """A markdown table: methods as rows, classes then summary as columns.

    Args:
        table (dict): output of :func:`aggregate`.
        precision (int): decimals. Default: 1.
        with_range (bool): write ``± half-range`` (for methods with 2 or
            more runs). Default: True.
        method_header (str): header of the first column. Default:
            ``'Method'``.

    Returns:
        str: the table, with a ``runs`` column.
    """
    columns = _columns(table)
    lines = [
        '| ' + ' | '.join([method_header] + columns + ['runs']) + ' |',
        '|' + '|'.join([' --- '] + [' ---: '] * (len(columns) + 1)) + '|',
    ]
    for method, row in table.items():
        cells = [_cell(row[c], precision, with_range) for c in columns]
        lines.append('| ' + ' | '.join([method] + cells + [str(row['runs'])])
                     + ' |')
    return '\n'.join(lines)


def write_csv(table: Dict[str, Dict], path: str, precision: int = 2) -> None:
    """Write the aggregated table as CSV.

    One row per method; per column two fields, ``<column>`` (mean) and
    ``<column>_range`` (half the spread), then ``runs``. Undefined cells are
    empty.

    Args:
        table (dict): output of :func:`aggregate`.
        path (str): output file.
        precision (int): decimals. Default: 2.
    """
    columns = _columns(table)
    header = ['method']
    for column in columns:
        header += [column, f'{column}_range']
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header + ['runs'])
        for method, row in table.items():
            fields = [method]
            for column in columns:
                mean, half, num = row[column]
                fields += (['', ''] if num == 0 else
                           [f'{mean:.{precision}f}', f'{half:.{precision}f}'])
            writer.writerow(fields + [row['runs']])


def read_csv(path: str) -> 'OrderedDict[str, OrderedDict]':
    """Read a table written by :func:`write_csv`.

    Returns:
        OrderedDict: as :func:`aggregate` returns, with ``n`` taken as the
        number of runs for defined cells.
    """
    with open(path, newline='') as f:
        rows = list(csv.reader(f))
    header = rows[0]
    columns = header[1:-1:2]
    table: 'OrderedDict[str, OrderedDict]' = OrderedDict()
    for fields in rows[1:]:
        runs = int(fields[-1])
        row: 'OrderedDict[str, object]' = OrderedDict()
        for k, column in enumerate(columns):
            mean, half = fields[1 + 2 * k], fields[2 + 2 * k]
            row[column] = ((float(mean), float(half), runs) if mean else
                           (float('nan'), float('nan'), 0))
        row['runs'] = runs
        table[fields[0]] = row
    return table
