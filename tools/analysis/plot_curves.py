"""Training-loss and validation-mIoU curves of several runs on one plot.

Reads mmengine's ``vis_data/scalars.json`` of each run (all launches of a
resumed run). Runs of one method (grouped as ``aggregate.py`` does) share a
colour.

Example:
    python tools/analysis/plot_curves.py work_dirs/bench/*/seed* \
        --group 'bench/([^/]+)/' --out work_dirs/bench/curves.png
"""
import argparse
import os
import os.path as osp
from collections import OrderedDict
from typing import Optional, Sequence

from mmseg_reco.visualization import load_scalars, method_of, plot_curves


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Loss and mIoU curves of several runs')
    parser.add_argument('work_dirs', nargs='+', help='runs (work dirs)')
    parser.add_argument('--out', default='curves.png', help='output PNG')
    parser.add_argument('--loss-key', default='loss',
                        help="training scalar to plot. Default: 'loss'")
    parser.add_argument('--metric', default='mIoU',
                        help="validation scalar to plot. Default: 'mIoU'")
    parser.add_argument('--group', default=None,
                        help='regular expression naming the method of a run '
                        '(see aggregate.py). Default: the config name')
    parser.add_argument('--smooth', type=int, default=1,
                        help='moving-average window of the loss (points)')
    parser.add_argument('--title', default=None)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> str:
    args = parse_args(argv)
    runs, groups = OrderedDict(), {}
    for work_dir in args.work_dirs:
        records = load_scalars(work_dir)
        if not records:
            print(f'warning: {work_dir} has no scalars.json; skipped')
            continue
        label = osp.normpath(work_dir)
        runs[label] = records
        groups[label] = method_of(work_dir, args.group)
    if not runs:
        raise ValueError('none of the work dirs holds scalars')
    if osp.dirname(args.out):
        os.makedirs(osp.dirname(args.out), exist_ok=True)
    plot_curves(runs, args.out, loss_key=args.loss_key, metric=args.metric,
                groups=groups, window=args.smooth, title=args.title)
    print(f'wrote {args.out}')
    return args.out


if __name__ == '__main__':
    import matplotlib
    matplotlib.use('Agg')  # figures go to files; no display needed
    main()
