"""SUN RGB-D (37 classes) in ReCo's re-split and resolution.

Command line of :mod:`mmseg_reco.datasets.converters.sunrgbd`, which
describes the input and output layouts.

Example:
    python tools/convert_sunrgbd.py data/SUNRGBD_raw \\
        --val-list reco/dataset/sun/test_idx.txt --out data/sunrgbd --nproc 8
"""
import argparse
from typing import Optional, Sequence

from mmseg_reco.datasets.converters.sunrgbd import (TRAIN_OFFSET, convert,
                                                    parse_size, read_val_list)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="SUN RGB-D in ReCo's 9860/475 split at 384x512")
    parser.add_argument('src', help='folder with SUNRGBD-train_images/, '
                        'SUNRGBD-test_images/, sunrgbd_train_test_labels/')
    parser.add_argument('--val-list', required=True,
                        help="ReCo's test_idx.txt (475 test image numbers)")
    parser.add_argument('--out', default='data/sunrgbd')
    parser.add_argument('--size', default='512x384',
                        help='WIDTHxHEIGHT of the output, or none')
    parser.add_argument('--train-offset', type=int, default=TRAIN_OFFSET)
    parser.add_argument('--nproc', type=int, default=1)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    try:
        out = convert(args.src, read_val_list(args.val_list), args.out,
                      parse_size(args.size), args.train_offset, args.nproc)
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(f'error: {exc}')
    print(f'train: {len(out["train"])} images, val: {len(out["val"])} images '
          f'-> {args.out}')


if __name__ == '__main__':
    main()
