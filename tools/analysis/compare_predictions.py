"""Predictions of several models on the same validation images, side by side.

One row per image: the image, its ground truth, then each model's
prediction, coloured with the dataset's palette (ignored pixels white), and
a colour legend of the classes. Every model runs on the validation set of
the first model's config, with its own data preprocessor; a
``SemiSegmentor`` predicts with its evaluated network (``semi_test_cfg``).

Models are given as ``[NAME=]CONFIG:CHECKPOINT``; NAME defaults to the
config's file name.

Example (``docs/analysis.md`` has it with the demo configs)::

    python tools/analysis/compare_predictions.py \
        Supervised=SUP_CONFIG:work_dirs/sup/iter_1000.pth \
        ReCo=RECO_CONFIG:work_dirs/reco/iter_1000.pth \
        --num-images 6 --out predictions.png
"""
import argparse
import os
import os.path as osp
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple

import mmcv
import numpy as np
import torch
from mmengine.config import DictAction

from mmseg.apis import init_model

import mmseg_reco  # noqa: F401  (registers components)
from mmseg_reco.visualization import (build_val_dataset, iter_batches,
                                      plot_prediction_grid)


def parse_model(spec: str) -> Tuple[str, str, str]:
    """Split ``[NAME=]CONFIG:CHECKPOINT`` into (name, config, checkpoint)."""
    name = None
    if '=' in spec.split(':', 1)[0]:
        name, spec = spec.split('=', 1)
    if ':' not in spec:
        raise argparse.ArgumentTypeError(
            f'{spec!r}: expected [NAME=]CONFIG:CHECKPOINT')
    config, checkpoint = spec.rsplit(':', 1)
    name = name or osp.splitext(osp.basename(config))[0]
    return name, config, checkpoint


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Image, ground truth and predictions side by side')
    parser.add_argument('models', nargs='+', type=parse_model,
                        help='[NAME=]CONFIG:CHECKPOINT, one per method')
    parser.add_argument('--indices', type=int, nargs='+', default=None,
                        help='validation items to show')
    parser.add_argument('--num-images', type=int, default=6,
                        help='without --indices: this many items, evenly '
                        'spaced over the validation set. Default: 6')
    parser.add_argument('--out', default='predictions.png',
                        help='output PNG')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='config overrides for every model, key=value')
    return parser.parse_args(argv)


def pick_indices(num_items: int, num_images: int) -> List[int]:
    """``num_images`` indices evenly spaced over ``num_items`` items."""
    num_images = max(1, min(num_images, num_items))
    return np.linspace(0, num_items - 1, num_images).round().astype(
        int).tolist()


@torch.no_grad()
def predict_labels(model, dataset, indices: Sequence[int]) -> List:
    """(H, W) predicted label maps of dataset items, at their original size.
    """
    labels = []
    for batch in iter_batches(dataset, list(indices), batch_size=1):
        data = model.data_preprocessor(batch, False)
        samples = model.predict(data['inputs'], data['data_samples'])
        labels += [s.pred_sem_seg.data[0].cpu().numpy() for s in samples]
    return labels


def main(argv: Optional[Sequence[str]] = None) -> str:
    args = parse_args(argv)
    names = [name for name, _, _ in args.models]
    if len(set(names)) != len(names):
        raise ValueError(f'model names must differ, got {names}')
    dataset, meta = None, None
    images, gts, titles, predictions = [], [], [], OrderedDict()
    for name, config, checkpoint in args.models:
        model = init_model(config, checkpoint, args.device,
                           args.cfg_options)
        if dataset is None:
            dataset = build_val_dataset(model.cfg)
            meta = dataset.metainfo
            indices = args.indices or pick_indices(len(dataset),
                                                   args.num_images)
            for i in indices:
                info = dataset.get_data_info(i)
                images.append(mmcv.imread(info['img_path'],
                                          channel_order='rgb'))
                gts.append(dataset[i]['data_samples'].gt_sem_seg.data[0]
                           .numpy())
                titles.append(osp.splitext(osp.basename(
                    info['img_path']))[0])
        predictions[name] = predict_labels(model, dataset, indices)
        del model
    if osp.dirname(args.out):
        os.makedirs(osp.dirname(args.out), exist_ok=True)
    plot_prediction_grid(images, gts, predictions, meta['palette'], args.out,
                         class_names=meta['classes'], row_titles=titles)
    print(f'wrote {args.out}')
    return args.out


if __name__ == '__main__':
    import matplotlib
    matplotlib.use('Agg')  # figures go to files; no display needed
    main()
