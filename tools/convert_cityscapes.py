"""Cityscapes train-id labels, optionally downsampled as ReCo uses them.

Command line of :mod:`mmseg_reco.datasets.converters.cityscapes`, which
describes the input and output layouts.

Example:
    python tools/convert_cityscapes.py data/cityscapes \\
        --out data/cityscapes_512x1024 --nproc 8
"""
import argparse
from typing import Optional, Sequence

from mmseg_reco.datasets.converters.cityscapes import convert, parse_size


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Cityscapes train-id labels (and ReCo 512x1024 images)')
    parser.add_argument('src', help='folder with leftImg8bit/ and gtFine/')
    parser.add_argument('--out', default='data/cityscapes_512x1024')
    parser.add_argument('--size', default='1024x512',
                        help='WIDTHxHEIGHT of the output, or none')
    parser.add_argument('--nproc', type=int, default=1)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    try:
        out = convert(args.src, args.out, parse_size(args.size),
                      nproc=args.nproc)
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(f'error: {exc}')
    print(', '.join(f'{k}: {len(v)} images' for k, v in out.items()) +
          f' -> {args.out}')


if __name__ == '__main__':
    main()
