"""Export the teacher or the student as a plain mmseg config + checkpoint.

The exported pair loads with ``mmseg.apis.init_model`` and mmseg's
``tools/test.py`` without this package (see ``mmseg_reco.apis.export``).

The teacher keeps the checkpoint's BatchNorm statistics (with
``MeanTeacherHook(buffers='precise')`` the ones estimated before the
checkpoint was saved); ``--teacher-buffers copy|precise`` exports it with
the student's, or with statistics re-estimated now over the part of the
training set that the config's mean teacher names (``precise_source``).

Example:
    python tools/export_model.py CONFIG CHECKPOINT OUT_DIR --use teacher
    python tools/export_model.py CONFIG CHECKPOINT OUT_DIR \
        --teacher-buffers precise --precise-batches 100
"""
import argparse
from typing import Optional, Sequence, Tuple

import mmseg_reco  # noqa: F401  (registers components, checkpoint allow-list)
from mmseg_reco.apis import TEACHER_BN_POLICIES, export_model


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='training config of the model')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('out_dir', help='directory for the exported files')
    parser.add_argument(
        '--use',
        choices=['teacher', 'student'],
        help="network of a semi-supervised model (default: the one it "
        "evaluates, semi_test_cfg.predict_on); a model with "
        "model.teacher='self' exports its student for either")
    parser.add_argument(
        '--teacher-buffers',
        choices=list(TEACHER_BN_POLICIES),
        help="the teacher's BatchNorm statistics: skip (the checkpoint's, "
        "the default), copy (the student's) or precise (re-estimated over "
        "the training part of the config's precise_source)")
    parser.add_argument(
        '--precise-batches',
        type=int,
        default=100,
        help='batches of a precise estimate (default: 100)')
    parser.add_argument(
        '--precise-batch-size',
        type=int,
        help='images per batch of a precise estimate (default: the '
        'labelled images of a training batch)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Tuple[str, str]:
    args = parse_args(argv)
    use = args.use
    if args.teacher_buffers is not None and use is None:
        use = 'teacher'
    config, checkpoint = export_model(
        args.config,
        args.checkpoint,
        args.out_dir,
        use,
        teacher_buffers=args.teacher_buffers,
        precise_batches=args.precise_batches,
        precise_batch_size=args.precise_batch_size)
    print(f'config: {config}\ncheckpoint: {checkpoint}')
    return config, checkpoint


if __name__ == '__main__':
    main()
