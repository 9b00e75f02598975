"""Export the teacher or the student as a plain mmseg config + checkpoint.

The exported pair loads with ``mmseg.apis.init_model`` and mmseg's
``tools/test.py`` without this package (see ``mmseg_reco.apis.export``).

Example:
    python tools/export_model.py CONFIG CHECKPOINT OUT_DIR --use teacher
"""
import argparse
from typing import Optional, Sequence, Tuple

import mmseg_reco  # noqa: F401  (registers components, checkpoint allow-list)
from mmseg_reco.apis import export_model


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='training config of the model')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('out_dir', help='directory for the exported files')
    parser.add_argument(
        '--use',
        choices=['teacher', 'student'],
        help="network of a semi-supervised model (default: the one it "
        "evaluates, semi_test_cfg.predict_on)")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Tuple[str, str]:
    args = parse_args(argv)
    config, checkpoint = export_model(args.config, args.checkpoint,
                                      args.out_dir, args.use)
    print(f'config: {config}\ncheckpoint: {checkpoint}')
    return config, checkpoint


if __name__ == '__main__':
    main()
