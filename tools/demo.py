"""Semi-supervised ReCo + ClassMix on the demo canvases: train, evaluate,
draw predictions.

Runs end to end on a CPU::

    python tools/demo.py

1. pre-trains the demo backbone on Fashion-MNIST classification
   (``tools/pretrain_backbone.py``) when its checkpoint is missing (the
   papers start from ImageNet weights; nothing is downloaded here);
2. writes the class-balanced split of ``--labelled`` canvases
   (``tools/make_splits.py``) when it is missing; the other 2,000 -
   ``--labelled`` training canvases are the unlabelled images;
3. trains ``--config`` (the label-efficiency benchmark's ReCo + ClassMix,
   docs/benchmarks.md) from the pre-trained backbone with mmengine's Runner
   for ``--iters`` of its iterations (the learning rate decays to 0 at
   ``--iters``); the validation at the end prints the per-class IoU table
   and mIoU of the teacher, then the benchmark's Supervised figure on the
   same 10 labelled canvases for comparison;
4. writes ``--num-pictures`` pictures ``input | ground truth | prediction``
   of validation images, drawn with mmseg's ``SegLocalVisualizer``, to
   ``<work-dir>/predictions/``.
"""
import argparse
import os
import os.path as osp
import time

import mmcv
import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.runner import Runner

from mmseg.visualization import SegLocalVisualizer

from demo_support import (DATA_ROOT, PRETRAINED_CHECKPOINT, REPO_ROOT,
                          ensure_pretrained, ensure_split, split_files)

DEFAULT_CONFIG = ('configs/reco/'
                  'reco-classmix_deeplabv3plus-r18w32-d16-rep_1xb8-2k_'
                  'fashion-canvas-10lab.py')


#: training iterations of the demo (of the config's 2k)
DEFAULT_ITERS = 600
#: the benchmark's Supervised baseline on the demo's default split
#: (docs/benchmarks.md, "Results on three seeds"; teacher-free: its
#: student; mean and seeds)
SUPERVISED_REFERENCE = dict(
    labelled=10, iters=2000, miou=20.40, seeds=(19.90, 20.31, 20.99),
    doc='docs/benchmarks.md')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--iters', type=int, default=DEFAULT_ITERS,
                        help='training iterations. Default: %(default)s')
    parser.add_argument('--labelled', type=int, default=10,
                        help='labelled canvases (class-balanced split). '
                        'Default: 10')
    parser.add_argument('--pretrained', default=PRETRAINED_CHECKPOINT,
                        help='backbone checkpoint (made by '
                        'tools/pretrain_backbone.py when missing)')
    parser.add_argument('--no-pretrained', action='store_true',
                        help='start from random weights')
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
    os.chdir(REPO_ROOT)
    start = time.time()
    if not args.checkpoint:
        ensure_split(args.labelled, data_root=DATA_ROOT)
        if not args.no_pretrained:
            ensure_pretrained(args.pretrained)
    cfg = Config.fromfile(args.config)
    labelled, unlabelled = cfg.train_dataloader.dataset.datasets
    labelled.ann_file, unlabelled.ann_file = split_files(args.labelled)
    if not args.no_pretrained and not args.checkpoint:
        segmentor = cfg.model.get('segmentor', cfg.model)
        segmentor.backbone.init_cfg = dict(
            type='Pretrained', checkpoint=osp.abspath(args.pretrained),
            prefix='backbone.')
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
    print(supervised_reference_line(args))
    print(f'total time {(time.time() - start) / 60:.1f} min')


def supervised_reference_line(args) -> str:
    """The benchmark's Supervised figure, to read the demo's mIoU by."""
    ref = SUPERVISED_REFERENCE
    if ref['miou'] is None or args.labelled != ref['labelled']:
        return (f'no Supervised reference for {args.labelled} labelled '
                f'canvases in {ref["doc"]}')
    seeds = ' / '.join(f'{v:.2f}' for v in ref['seeds'])
    return (f'Supervised on the same {ref["labelled"]} labelled canvases, '
            f'{ref["iters"]} iterations ({ref["doc"]}): mIoU '
            f'{ref["miou"]:.2f} (seeds {seeds}); this demo trained '
            f'{args.iters} iterations')


if __name__ == '__main__':
    main()
