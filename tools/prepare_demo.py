"""Build the offline demo dataset: Fashion-MNIST items composed on canvases.

The canvases, their labels and the output layout are described in
:mod:`mmseg_reco.datasets.fashion_canvas_builder`, which builds them::

    <out>/img_dir/{train,val}/<stem>.png   RGB canvases
    <out>/ann_dir/{train,val}/<stem>.png   uint8 label maps, same stem
    <out>/splits/{train,val}.txt           one stem per line
    <out>/meta.json                        the settings it was built with

The build is deterministic given ``--seed`` and is skipped when ``<out>``
already holds a dataset built with the same settings (``--force`` rebuilds).
The source files come from the Debian package ``dataset-fashion-mnist``.

Example:
    python tools/prepare_demo.py                       # data/fashion_canvas
    python tools/prepare_demo.py --num-train 200 --num-val 50 --out /tmp/fc
"""
import argparse
from typing import Optional, Sequence

from mmseg_reco.datasets.fashion_canvas_builder import (DEBIAN_PACKAGE,
                                                        DEFAULT_FG_THRESHOLD,
                                                        DEFAULT_SOURCE,
                                                        build_demo)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Build the Fashion-MNIST canvas demo dataset')
    parser.add_argument('--out', default='data/fashion_canvas',
                        help='output folder')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train', type=int, default=2000)
    parser.add_argument('--num-val', type=int, default=300)
    parser.add_argument('--canvas-size', type=int, default=64)
    parser.add_argument('--num-items', type=int, nargs=2, default=(2, 4),
                        metavar=('MIN', 'MAX'),
                        help='inclusive range of items per canvas')
    parser.add_argument('--scale-range', type=float, nargs=2,
                        default=(0.8, 1.6), metavar=('MIN', 'MAX'),
                        help='range of the random item rescale factor')
    parser.add_argument('--bg-max', type=int, default=40,
                        help='maximum background channel value')
    parser.add_argument('--noise-std-max', type=float, default=8.0,
                        help='maximum background noise std (grey levels)')
    parser.add_argument('--tint-min', type=int, default=64,
                        help='minimum tint channel value')
    parser.add_argument('--fg-threshold', type=int,
                        default=DEFAULT_FG_THRESHOLD,
                        help='item pixels above this grey value are drawn '
                        'and labelled. Default: %(default)s')
    parser.add_argument('--source', default=DEFAULT_SOURCE,
                        help='folder holding the Fashion-MNIST idx .gz files '
                        f'(Debian package {DEBIAN_PACKAGE})')
    parser.add_argument('--force', action='store_true',
                        help='rebuild even if the output is up to date')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    try:
        build_demo(
            out_dir=args.out, seed=args.seed, num_train=args.num_train,
            num_val=args.num_val, canvas_size=args.canvas_size,
            num_items=tuple(args.num_items),
            scale_range=tuple(args.scale_range), bg_max=args.bg_max,
            noise_std_max=args.noise_std_max, tint_min=args.tint_min,
            fg_threshold=args.fg_threshold, source=args.source,
            force=args.force)
    except (FileNotFoundError, FileExistsError) as exc:
        raise SystemExit(f'error: {exc}')


if __name__ == '__main__':
    main()
