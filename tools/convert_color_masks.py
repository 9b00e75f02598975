"""Convert a folder of colour masks (RGB) to label maps of class indices.

Command line of :mod:`mmseg_reco.datasets.color_masks`: class ``i`` is the
colour ``palette[i]`` of the config's dataset (``metainfo['palette']``);
colours outside the palette become 255 (ignore), and are counted and
reported. Single-channel files (already index maps) are copied unchanged.

Examples::

    python tools/convert_color_masks.py data/my_data/train/labels_rgb \\
        data/my_data/train/labels --palette configs/my_data/my_data_semi.py
    python tools/convert_color_masks.py masks/ labels/ \\
        --palette '0,0,0;255,0,0'
"""
import argparse
from typing import Optional, Sequence

import mmseg_reco  # noqa: F401  (registers the datasets' palettes)
from mmseg_reco.datasets.color_masks import (ConversionReport,
                                             convert_color_masks,
                                             parse_palette)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Colour masks -> label maps of class indices')
    parser.add_argument('in_dir', help='folder of colour masks')
    parser.add_argument('out_dir', help='folder for the label maps')
    parser.add_argument(
        '--palette',
        required=True,
        help="a config file (its datasets' palette), a list "
        "'[[0, 0, 0], [255, 0, 0]]' or '0,0,0;255,0,0' (class 0 first)")
    parser.add_argument(
        '--suffix', default='.png', help='suffix of the colour masks')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> ConversionReport:
    args = parse_args(argv)
    try:
        palette = parse_palette(args.palette)
        report = convert_color_masks(args.in_dir, args.out_dir, palette,
                                     args.suffix)
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(f'error: {exc}')
    print(f'palette: {len(palette)} classes')
    print(report.format())
    return report


if __name__ == '__main__':
    main()
