"""Check the data of a config before training: every file of the train and
val datasets, one report, a non-zero exit status when a labelled or
validation file is bad (docs/custom_data.md, step 0).

Examples::

    python tools/check_data.py \\
        configs/baselines/classmix_deeplabv3plus-r18-d8_1xb4-1k_folder-full.py
    python tools/check_data.py CONFIG --decode   # decode every image too
"""
import argparse
from typing import Optional, Sequence

from mmengine.config import Config, DictAction

import mmseg_reco  # noqa: F401  (registers the datasets)
from mmseg_reco.datasets.data_check import check_data


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Check the images and label maps of a config')
    parser.add_argument('config', help='the training config')
    parser.add_argument(
        '--decode',
        action='store_true',
        help='decode every image (finds truncated files); by default only '
        'image headers are read (label maps are always decoded)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config (xxx=yyy), as tools/train.py')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Print the report; return 1 when a labelled or validation file is
    bad, else 0."""
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    report = check_data(cfg, decode=args.decode, config_path=args.config)
    print(report.format())
    return 1 if report.errors else 0


if __name__ == '__main__':
    raise SystemExit(main())
