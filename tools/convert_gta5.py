"""GTA5 labels mapped to the 19 Cityscapes train ids.

Command line of :mod:`mmseg_reco.datasets.converters.gta5`, which
describes the input and output layouts.

Example:
    python tools/convert_gta5.py data/gta5 --nproc 8
"""
import argparse
from typing import Optional, Sequence

from mmseg_reco.datasets.converters.gta5 import convert, parse_size


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='GTA5 labels -> 19 Cityscapes train ids')
    parser.add_argument('src', help='folder with images/ and labels/')
    parser.add_argument('--out', help='output folder (default: src)')
    parser.add_argument('--size', help='WIDTHxHEIGHT to resize to')
    parser.add_argument('--nproc', type=int, default=1)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    try:
        out = convert(args.src, args.out, parse_size(args.size), args.nproc)
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(f'error: {exc}')
    print(f'{len(out["stems"])} images; {len(out["resized_labels"])} '
          'label(s) resized to their image size')


if __name__ == '__main__':
    main()
