"""Merge the SBD augmented labels into Pascal VOC 2012 (the 10582-image set).

Command line of :mod:`mmseg_reco.datasets.converters.voc_aug`, which
describes the input and output layouts.

Example:
    python tools/convert_voc_aug.py data/VOCdevkit data/benchmark_RELEASE \\
        --nproc 8
"""
import argparse
from typing import Optional, Sequence

from mmseg_reco.datasets.converters.voc_aug import AUG_LEN, convert


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Merge SBD labels into VOC 2012 (SegmentationClassAug)')
    parser.add_argument('devkit', help='VOCdevkit folder (holds VOC2012)')
    parser.add_argument('sbd', help='SBD benchmark_RELEASE folder')
    parser.add_argument('--nproc', type=int, default=1)
    parser.add_argument('--no-check', action='store_true',
                        help=f'skip the check that train_aug has {AUG_LEN} '
                        'images')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    try:
        out = convert(args.devkit, args.sbd, args.nproc,
                      None if args.no_check else AUG_LEN)
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(f'error: {exc}')
    print(f'SegmentationClassAug: {out["num_sbd"]} SBD + {out["num_voc"]} '
          f'VOC labels; train_aug.txt {len(out["train_aug"])} images, '
          f'aug.txt {len(out["aug"])} images')


if __name__ == '__main__':
    main()
