"""Train supervised ReCo on the demo canvases, evaluate, draw predictions.

Runs end to end on a CPU in a few minutes::

    python tools/demo.py

1. trains ``--config`` with mmengine's Runner (the validation at the end
   prints the per-class IoU table and mIoU);
2. writes ``--num-pictures`` pictures ``input | ground truth | prediction``
   of validation images, drawn with mmseg's ``SegLocalVisualizer``, to
   ``<work-dir>/predictions/``.
"""
import argparse
import os
import os.path as osp

import mmcv
import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.runner import Runner

import mmseg_reco  # noqa: F401
from mmseg.visualization import SegLocalVisualizer

DEFAULT_CONFIG = ('configs/reco/'
                  'reco-sup_deeplabv3plus-r18-d8-rep_1k_fashion-canvas-full.py')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--iters', type=int, default=800,
                        help='training iterations (about 0.3 s each on 2 '
                        'idle CPU cores)')
    parser.add_argument('--num-pictures', type=int, default=4)
    parser.add_argument('--scale', type=int, default=4,
                        help='upscaling of the 64x64 pictures')
    parser.add_argument('--checkpoint',
                        help='skip training: draw with these weights')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def draw_predictions(runner: Runner, out_dir: str, num: int,
                     scale: int) -> list:
    """Save ``input | ground truth | prediction`` for ``num`` val images."""
    os.makedirs(out_dir, exist_ok=True)
    dataset = runner.val_dataloader.dataset
    visualizer = SegLocalVisualizer(
        name='demo', alpha=1.0, save_dir=out_dir)
    visualizer.dataset_meta = dataset.metainfo
    model = runner.model
    model.eval()
    paths = []
    for index in range(min(num, len(dataset))):
        with torch.no_grad():
            sample = model.test_step(pseudo_collate([dataset[index]]))[0]
        image = mmcv.imread(sample.img_path, channel_order='rgb')
        # add_datasample writes ground truth | prediction side by side
        path = osp.join(out_dir, osp.basename(sample.img_path))
        visualizer.add_datasample(
            'pair', image, sample, draw_gt=True, draw_pred=True,
            show=False, with_labels=False, out_file=path)
        gt_pred = mmcv.imread(path, channel_order='rgb')
        picture = np.concatenate([image, gt_pred], axis=1)
        picture = mmcv.imrescale(picture, scale, interpolation='nearest')
        mmcv.imwrite(picture[..., ::-1], path)
        paths.append(path)
    return paths


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir
    cfg.train_cfg.max_iters = cfg.train_cfg.val_interval = args.iters
    cfg.param_scheduler[0].end = args.iters
    cfg.default_hooks.checkpoint.interval = args.iters
    # 64x64 PNGs load fast: one worker leaves the cores to the model
    cfg.train_dataloader.num_workers = cfg.val_dataloader.num_workers = 1
    runner = Runner.from_cfg(cfg)
    if args.checkpoint:
        runner.load_checkpoint(args.checkpoint)
    else:
        runner.train()
    paths = draw_predictions(runner, osp.join(args.work_dir, 'predictions'),
                             args.num_pictures, args.scale)
    print(f'prediction pictures (input | ground truth | prediction): '
          f'{osp.dirname(paths[0]) if paths else "none"}')
    for path in paths:
        print(f'  {path}')


if __name__ == '__main__':
    main()
