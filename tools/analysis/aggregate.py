"""Per-class IoU and mIoU over seeds: mean ± half the range, per method.

Reads every run's evaluation (the last by default) from what mmengine wrote
into its work dir: ``vis_data/scalars.json`` for the summary and, with
``PerClassIoUMetric``, the per-class IoU (``IoU.<class>`` keys); for runs
evaluated with mmseg's ``IoUMetric`` the per-class table is parsed from the
text log. Runs are grouped into methods by the config they were launched
with (mmengine copies it into the work dir), by a ``--group`` regular
expression on the work dir, or by the work dir's name without a seed suffix.

Prints a markdown table, methods as rows and classes then mIoU as columns
(ReCo Table 1, the memory-bank supplement's per-class tables), each cell
``mean ± (max - min) / 2`` over the method's runs, and writes it as CSV.

Example:
    python tools/analysis/aggregate.py work_dirs/bench/*/seed* \
        --group 'bench/([^/]+)/' --out work_dirs/bench/table.csv
"""
import argparse
import os
import os.path as osp
from typing import Optional, Sequence

from mmseg_reco.visualization import (aggregate_work_dirs, format_markdown,
                                      write_csv)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Per-class IoU table over seeds (mean ± half range)')
    parser.add_argument('work_dirs', nargs='+', help='runs (work dirs)')
    parser.add_argument(
        '--group', default=None,
        help='regular expression searched in each work dir path; its first '
        'group (or the match) names the method. Default: the config name')
    parser.add_argument('--select', default='last', choices=['last', 'best'],
                        help='which evaluation of each run. Default: last')
    parser.add_argument('--classes', nargs='+', default=None,
                        help='class columns, in order (default: all found)')
    parser.add_argument('--precision', type=int, default=1)
    parser.add_argument('--out', default=None,
                        help='CSV file (default: aggregate.csv in the '
                        'current folder)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None):
    args = parse_args(argv)
    table, methods = aggregate_work_dirs(args.work_dirs, args.group,
                                         args.select, args.classes)
    for method, runs in methods.items():
        missing = [r['work_dir'] for r in runs if not r['classes']]
        if missing:
            print(f'warning: no per-class IoU found for {missing} (evaluate '
                  'with PerClassIoUMetric, or keep the text log)')
    print(format_markdown(table, precision=args.precision))
    out = args.out or 'aggregate.csv'
    if osp.dirname(out):
        os.makedirs(osp.dirname(out), exist_ok=True)
    write_csv(table, out)
    print(f'wrote {out}')
    return table


if __name__ == '__main__':
    main()
