"""Summary tables of runs over seeds: teacher/student mIoU, pseudo-labels,
label-efficiency targets.

Used by ``benchmarks/accuracy.py`` (which imports it as
``accuracy_tables``, its folder on ``sys.path``); every function reads
what mmengine wrote into the work dirs (``vis_data/scalars.json``, through
:func:`~mmseg_reco.visualization.run_logs.load_scalars`). ``runs`` maps a
method key to its work dirs (one per seed) and ``names`` a method key to
the name shown in the tables.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

from mmseg_reco.visualization.run_logs import load_scalars, split_records

#: Pseudo-label figures of ``PseudoLabelQualityHook`` (``pseudo/<key>``).
PSEUDO_KEYS = ('acc', 'mIoU', 'confident_share', 'confident_acc',
               'dominant_pred_share', 'dominant_true_share')


def val_records(work_dir: str) -> List[dict]:
    """The validation records of a run, in step order."""
    return split_records(load_scalars(work_dir))[1]


def spread(values: Sequence[float]) -> Optional[Tuple[float, float]]:
    """``(mean, half range)`` of the values, or None when there are none."""
    if not values:
        return None
    return (sum(values) / len(values), (max(values) - min(values)) / 2)


def summarise_runs(runs: Dict[str, Sequence[str]]
                   ) -> 'OrderedDict[str, Dict[str, List[float]]]':
    """Teacher/student mIoU, last and best evaluation, of every run.

    Args:
        runs (dict[str, Sequence[str]]): method -> work dirs (one per seed).

    Returns:
        OrderedDict: ``{method: {column: [value per seed]}}`` with columns
        ``evaluated``, ``teacher_last``, ``teacher_best``, ``student_last``,
        ``student_best`` (a supervised run's only model is its student; a
        column a run did not log is left out).
    """
    summary = OrderedDict()
    for method, dirs in runs.items():
        columns = OrderedDict()
        for work_dir in dirs:
            val = val_records(work_dir)
            if not val:
                continue
            columns.setdefault('evaluated', []).append(val[-1]['mIoU'])
            semi = any('teacher/mIoU' in r for r in val)
            for model in ('teacher', 'student'):
                key = f'{model}/mIoU' if semi else (
                    'mIoU' if model == 'student' else None)
                values = [r[key] for r in val if key and key in r]
                if values:
                    columns.setdefault(f'{model}_last', []).append(values[-1])
                    columns.setdefault(f'{model}_best', []).append(
                        max(values))
        summary[method] = columns
    return summary


def summary_markdown(summary: Dict[str, Dict[str, List[float]]],
                     names: Dict[str, str],
                     reference: Optional[float] = None) -> str:
    """The summary as a markdown table.

    Args:
        summary (dict): see :func:`summarise_runs`.
        names (dict[str, str]): method -> name in the table.
        reference (float, optional): the full-label mIoU, for the
            label-efficiency column.
    """
    cols = ('teacher_last', 'teacher_best', 'student_last', 'student_best')
    head = ['Method', 'teacher last', 'teacher best', 'student last',
            'student best']
    if reference:
        head.append('% of full labels')
    head.append('seeds (evaluated model, last)')
    lines = ['| ' + ' | '.join(head) + ' |',
             '| --- | ' + ' | '.join(['---:'] * (len(head) - 1)) + ' |']
    for method, columns in summary.items():
        row = [names[method]]
        for col in cols:
            stat = spread(columns.get(col, []))
            row.append('-' if stat is None else
                       f'{stat[0]:.1f} ± {stat[1]:.1f}')
        if reference:
            evaluated = spread(columns.get('evaluated', []))
            row.append('-' if evaluated is None else
                       f'{100 * evaluated[0] / reference:.1f}%')
        row.append(' / '.join(f'{v:.2f}' for v in columns.get('evaluated',
                                                              [])))
        lines.append('| ' + ' | '.join(row) + ' |')
    return '\n'.join(lines)


def pseudo_label_markdown(runs: Dict[str, Sequence[str]],
                          names: Dict[str, str]) -> str:
    """Pseudo-label figures at every evaluation, mean over seeds ('' when
    no run logged them)."""
    head = ['Method', 'iteration', 'teacher mIoU (val)'] + [
        f'pseudo {k}' for k in PSEUDO_KEYS]
    lines = ['| ' + ' | '.join(head) + ' |',
             '| --- | ' + ' | '.join(['---:'] * (len(head) - 1)) + ' |']
    for method, dirs in runs.items():
        by_step = OrderedDict()
        for work_dir in dirs:
            for record in val_records(work_dir):
                if 'pseudo/acc' in record:
                    by_step.setdefault(record['step'], []).append(record)
        for step, records in by_step.items():
            row = [names[method], str(step)]
            for key in ['teacher/mIoU'] + [f'pseudo/{k}' for k in PSEUDO_KEYS]:
                values = [r[key] for r in records if key in r]
                row.append(f'{sum(values) / len(values):.1f}'
                           if values else '-')
            lines.append('| ' + ' | '.join(row) + ' |')
    return '\n'.join(lines) if len(lines) > 2 else ''


def best_per_seed(columns: Dict[str, List[float]]) -> Optional[List[float]]:
    """The evaluated model's best mIoU per seed (teacher for the semi
    runs, student for the supervised ones)."""
    return columns.get('teacher_best') or columns.get('student_best')


def target_lines(summary: Dict[str, Dict[str, List[float]]],
                 seeds: Sequence[int],
                 targets: Sequence[Tuple[str, str, Optional[float]]],
                 names: Dict[str, str]) -> List[str]:
    """Each label-efficiency target: met or not, with every seed's
    difference of the evaluated models' last and best mIoU.

    Args:
        summary (dict): see :func:`summarise_runs`.
        seeds (Sequence[int]): the seeds, in the order of the values.
        targets (Sequence[tuple]): ``(method, baseline, margin)`` in mIoU;
            margin None: a comparison without a target. A target is met
            when every seed's difference is at least the margin (a
            negative margin: within that much of the baseline).
        names (dict[str, str]): method -> name in the lines.
    """
    lines = []
    for method, base, margin in targets:
        if method not in summary or base not in summary:
            continue
        for col, best_of in (('evaluated', 'last'), (None, 'best')):
            a = summary[method].get(col) if col else best_per_seed(
                summary[method])
            b = summary[base].get(col) if col else best_per_seed(
                summary[base])
            if not a or not b or len(a) != len(b):
                continue
            diffs = [x - y for x, y in zip(a, b)]
            mean = sum(diffs) / len(diffs)
            line = (f'{names[method]} - {names[base]} ({best_of} '
                    f'evaluation): {mean:+.2f} mIoU (seeds {seeds}: ' +
                    ', '.join(f'{d:+.2f}' for d in diffs) + ')')
            if margin is not None:
                met = all(d >= margin for d in diffs)
                line += (f'; target >= {margin:+.1f} on every seed: '
                         f'{"met" if met else "not met"}')
            lines.append(line)
    return lines


def room_lines(summary: Dict[str, Dict[str, List[float]]],
               seeds: Sequence[int],
               targets: Sequence[Tuple[str, str, str, float]],
               names: Dict[str, str]) -> List[str]:
    """The share of the room between a few-label and a full-label
    reference that a method recovers, per seed, at the last evaluation.

    Args:
        summary (dict): see :func:`summarise_runs`.
        seeds (Sequence[int]): the seeds, in the order of the values.
        targets (Sequence[tuple]): ``(method, low, high, share)``: the
            method recovers at least ``share`` (0-1) of ``high - low`` on
            every seed (the full-label reference ``high`` at its mean over
            seeds when it has fewer seeds).
        names (dict[str, str]): method -> name in the lines.
    """
    lines = []
    for method, low, high, share in targets:
        if not all(m in summary and summary[m].get('evaluated')
                   for m in (method, low, high)):
            continue
        a, b = summary[method]['evaluated'], summary[low]['evaluated']
        top = summary[high]['evaluated']
        if len(a) != len(b):
            continue
        tops = top if len(top) == len(a) else [sum(top) / len(top)] * len(a)
        shares = [(x - y) / (t - y) if t > y else float('nan')
                  for x, y, t in zip(a, b, tops)]
        met = all(v >= share for v in shares)
        lines.append(
            f'{names[method]} recovers of the room {names[low]} -> '
            f'{names[high]} (last evaluation): seeds {list(seeds)}: ' +
            ', '.join(f'{100 * v:.0f}%' for v in shares) +
            f'; target >= {100 * share:.0f}% on every seed: '
            f'{"met" if met else "not met"}')
    return lines


def teacher_flags(summary: Dict[str, Dict[str, List[float]]],
                  names: Dict[str, str],
                  tolerance: float = 1.0) -> List[str]:
    """Methods whose evaluated teacher ends below their student by more
    than ``tolerance`` mIoU on the mean over seeds (stale teacher
    statistics, or a teacher that lags its student).

    Args:
        summary (dict): see :func:`summarise_runs`.
        names (dict[str, str]): method -> name in the lines.
        tolerance (float): mIoU. Default: 1.0.
    """
    lines = []
    for method, columns in summary.items():
        teacher = spread(columns.get('teacher_last', []))
        student = spread(columns.get('student_last', []))
        if teacher is None or student is None:
            continue
        gap = teacher[0] - student[0]
        if gap < -tolerance:
            lines.append(
                f'FLAG {names[method]}: teacher last {teacher[0]:.2f} is '
                f'{-gap:.2f} mIoU below student last {student[0]:.2f} '
                f'(mean of seeds; tolerance {tolerance:.1f})')
    return lines


__all__ = [
    'PSEUDO_KEYS', 'val_records', 'spread', 'summarise_runs',
    'summary_markdown', 'pseudo_label_markdown', 'best_per_seed',
    'target_lines', 'room_lines', 'teacher_flags'
]
