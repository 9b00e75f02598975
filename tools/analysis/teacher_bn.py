"""Evaluate a finished mean-teacher run's teacher under each BatchNorm policy.

The checkpoint holds the teacher's and the student's weights and buffers.
The teacher is evaluated with its own running statistics (``skip``), with
the student's (``copy``) and with statistics re-estimated over
``--precise-batches`` batches of the training set the config's
``MeanTeacherHook`` names (``precise``; ``--precise-source labelled`` or
``unlabelled`` chooses),
and the student beside them; prints mIoU per row and each teacher row's
difference to the student (``mmseg_reco.apis.teacher_bn``). The test set
is the config's ``test_dataloader`` (else ``val_dataloader``).

Example (a run of ``benchmarks/accuracy.py``)::

    python tools/analysis/teacher_bn.py \\
        work_dirs/benchmark_accuracy/classmix/seed0/CONFIG.py \\
        work_dirs/benchmark_accuracy/classmix/seed0/iter_800.pth \\
        --policies skip copy precise --precise-batches 100
"""
import argparse
from typing import Dict, Optional, Sequence

from mmengine.config import Config, DictAction

import mmseg_reco  # noqa: F401  (registers components, checkpoint allow-list)
from mmseg_reco.apis import (TEACHER_BN_POLICIES, evaluate_teacher_bn,
                             format_teacher_bn_table, trained_buffer_policy)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='training config of the run')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument(
        '--policies',
        nargs='+',
        default=list(TEACHER_BN_POLICIES),
        choices=list(TEACHER_BN_POLICIES),
        help='teacher BatchNorm policies to evaluate (default: all)')
    parser.add_argument(
        '--precise-batches',
        type=int,
        default=100,
        help='batches of the precise estimate (default: 100)')
    parser.add_argument(
        '--precise-batch-size',
        type=int,
        help='images per batch of the precise estimate (default: the '
        'labelled images of a training batch)')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the precise batches')
    parser.add_argument(
        '--precise-source',
        choices=['labelled', 'unlabelled'],
        help="training set of the precise batches (default: the config's "
        "MeanTeacherHook precise_source, else labelled)")
    parser.add_argument('--work-dir', help='default: a temporary directory')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='config overrides, e.g. data roots')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    results = evaluate_teacher_bn(
        cfg,
        args.checkpoint,
        policies=args.policies,
        precise_batches=args.precise_batches,
        precise_batch_size=args.precise_batch_size,
        seed=args.seed,
        work_dir=args.work_dir,
        cfg_options=args.cfg_options,
        precise_source=args.precise_source)
    print(format_teacher_bn_table(results, trained_buffer_policy(cfg)))
    return results


if __name__ == '__main__':
    main()
