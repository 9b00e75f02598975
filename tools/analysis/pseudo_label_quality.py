"""Score a trained model's pseudo-labels on labelled copies of unlabelled
images, overall and per class.

The teacher of a mean-teacher checkpoint (or its student, or a plain
segmentor) labels the images of ``--split`` as in training: in batches of
``--batch-size``, its normalisation layers in train mode (batch statistics,
``--norm train``, as ReCo's teacher) or eval mode, dropout off. The
pseudo-labels and their confidence (softmax maximum) are compared with the
images' labels, which training never saw. Prints the summary of
``PseudoLabelQualityHook`` and a per-class table: the true and the
pseudo-labelled share of the pixels, IoU and recall of the pseudo-labels,
and the share of each class's pixels that are confident (>= ``--threshold``)
with the precision of those.

Example (a run of ``benchmarks/accuracy.py``)::

    python tools/analysis/pseudo_label_quality.py \\
        work_dirs/benchmark_accuracy/classmix/seed0/CONFIG.py \\
        work_dirs/benchmark_accuracy/classmix/seed0/iter_800.pth \\
        --split splits/unlabelled-20.txt
"""
import argparse
from typing import Optional, Sequence

import torch
from mmengine.config import Config

from mmseg.apis import init_model

import mmseg_reco  # noqa: F401  (registers components)
from mmseg_reco.engine.hooks.teacher_mode import set_teacher_mode
from mmseg_reco.engine.hooks.pseudo_label_quality_hook import (
    PseudoLabelQualityHook, labelled_copy, summarise_scores)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--model', default='teacher',
                        choices=['teacher', 'student'],
                        help='network of a mean-teacher checkpoint')
    parser.add_argument('--split', default='splits/unlabelled-20.txt',
                        help='image list, relative to the data root')
    parser.add_argument('--data-root', default=None,
                        help="default: the config's validation data root")
    parser.add_argument('--img-dir', default='img_dir/train')
    parser.add_argument('--ann-dir', default='ann_dir/train')
    parser.add_argument('--num-images', type=int, default=200)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--norm', default='train', choices=['train', 'eval'],
                        help='mode of the normalisation layers')
    parser.add_argument('--threshold', type=float, default=0.97)
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def per_class_rows(confusion: torch.Tensor, confident: torch.Tensor,
                   confident_correct: torch.Tensor, classes: Sequence[str]):
    """Per-class figures (%): true share, pseudo share, IoU, recall,
    confident share of the class's pixels, precision of the confident."""
    confusion = confusion.double()
    total = confusion.sum().clamp(min=1)
    inter = confusion.diag()
    true, pred = confusion.sum(1), confusion.sum(0)
    rows = []
    for k, name in enumerate(classes):
        union = true[k] + pred[k] - inter[k]
        rows.append((name, 100 * float(true[k] / total),
                     100 * float(pred[k] / total),
                     100 * float(inter[k] / union) if union > 0 else 0.0,
                     100 * float(inter[k] / true[k]) if true[k] > 0 else 0.0,
                     100 * float(confident[k] / true[k]) if true[k] else 0.0,
                     100 * float(confident_correct[k] / confident[k])
                     if confident[k] else 0.0))
    return rows


def main(argv: Optional[Sequence[str]] = None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    model = init_model(cfg, args.checkpoint, device=args.device)
    net = getattr(model, args.model, model)
    set_teacher_mode(net, norm_train=args.norm == 'train', dropout=False)
    val = cfg.val_dataloader.dataset
    dataset = labelled_copy(val.type, args.data_root or val.data_root,
                            args.split, args.img_dir, args.ann_dir)
    hook = PseudoLabelQualityHook(
        dataset, batch_size=args.batch_size, threshold=args.threshold,
        num_images=args.num_images)
    counts = hook.count(model, net)
    summary = summarise_scores(counts['confusion'], int(counts['confident']),
                               int(counts['confident_correct']))
    scored = hook.loader.dataset
    classes = getattr(scored, 'dataset', scored).metainfo['classes']
    print(f'{args.model} ({args.norm} normalisation) on '
          f'{len(scored)} images of {args.split}: ' +
          ', '.join(f'{k} {v:.1f}' for k, v in summary.items()))
    print('| class | true share | pseudo share | IoU | recall | confident '
          '| confident precision |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
    for row in per_class_rows(counts['confusion'], counts['class_confident'],
                              counts['class_confident_correct'], classes):
        print(f'| {row[0]} | ' + ' | '.join(f'{v:.1f}' for v in row[1:]) +
              ' |')
    return summary


if __name__ == '__main__':
    main()
