"""Which student query RC2L's region losses teach, against what the
supervised matching uses that query for, on the same images.

RC2L's class consistency (RCC, Eq. 9 of Zhang et al., IJCAI 2022) teaches
each teacher region's class to the student query the Hungarian matching
gives that region. The supervised MaskFormer loss teaches the query matched
to each ground-truth segment (one per class present) that segment's class,
and every other query 'no object'. On images with labels, this tool runs
both matchings for the same student outputs: the teacher's regions
(``RC2LTerm.regions``, the thresholds of the config's ``RC2LTerm``) against
the ground-truth segments. For every teacher region it records what the
supervised matching does with the region's student query: the same class,
another class, or 'no object' (unmatched). Regions whose query the labels
use for another class are where RCC pulls against the labelled loss.

The images are the config's validation set (``--max-images``), seen once
without augmentation; the student is the model's student, the teacher in
eval mode (a supervised model, plain or a ``SemiSegmentor`` without a
strong view, is its own teacher). Prints the teacher
regions per image and per class and the per-class table, then, for the
student queries the supervised matching gives the ground-truth segments,
their mean probability of the segment's class, of the first class
(background in the demo and VOC) and of 'no object' (a term that teaches
background only shows as background probability on the object queries);
the last line is the share of regions whose query the supervised matching
gives another class.

Example (a run of ``benchmarks/accuracy.py``)::

    python tools/analysis/region_matching.py \\
        work_dirs/benchmark_accuracy/rc2l/seed0/CONFIG.py \\
        work_dirs/benchmark_accuracy/rc2l/seed0/iter_800.pth
"""
import argparse
from typing import Dict, Optional, Sequence

from mmengine.config import Config, DictAction

from mmseg.apis import init_model
from mmseg.registry import MODELS

import mmseg_reco  # noqa: F401  (registers components)
from mmseg_reco.visualization import (USES, build_val_dataset,
                                      count_region_query_use, iter_batches)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--max-images', type=int, default=100)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='config overrides (e.g. the data root)')
    return parser.parse_args(argv)


def _rc2l_term(cfg: Config):
    """The config's ``RC2LTerm`` (or one with the defaults)."""
    for term in cfg.model.get('method_losses', None) or []:
        if term.get('type') == 'RC2LTerm':
            return MODELS.build(term)
    return MODELS.build(dict(type='RC2LTerm'))


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = init_model(cfg, args.checkpoint, device=args.device)
    model.eval()
    dataset = build_val_dataset(cfg)
    batches = iter_batches(dataset,
                           list(range(min(args.max_images, len(dataset)))),
                           args.batch_size)
    result = count_region_query_use(model, _rc2l_term(cfg).to(args.device),
                                    batches)
    uses, images = result['uses'], int(result['images'])
    classes = dataset.metainfo['classes']
    total = int(uses.sum())
    print(f'{total} teacher regions on {images} images '
          f'({total / max(images, 1):.2f} per image)')
    print('| region class | regions | ' + ' | '.join(
        f'query: {u}' for u in USES) + ' |')
    print('| --- | ---: |' + ' ---: |' * len(USES))
    for k, name in enumerate(classes):
        if uses[k].sum() == 0:
            continue
        print(f'| {name} | {int(uses[k].sum())} | ' +
              ' | '.join(str(int(v)) for v in uses[k]) + ' |')
    segments, probs = result['segments'], result['segment_probs']
    print('student queries matched to the ground-truth segments (mean '
          'class probabilities):')
    print(f'| segment class | segments | p(its class) | p({classes[0]}) '
          '| p(no object) |')
    print('| --- | ---: | ---: | ---: | ---: |')
    for k, name in enumerate(classes):
        if segments[k] == 0:
            continue
        mean = probs[k] / segments[k]
        print(f'| {name} | {int(segments[k])} | ' +
              ' | '.join(f'{float(v):.3f}' for v in mean) + ' |')
    shares = {
        use: 100.0 * float(uses[:, i].sum()) / max(total, 1)
        for i, use in enumerate(USES)
    }
    # the segments of every class but the first (the objects of the demo)
    others = segments[1:].sum().clamp(min=1)
    objects = {
        name: float(probs[1:, i].sum() / others)
        for i, name in enumerate(('object p(class)',
                                  f'object p({classes[0]})',
                                  'object p(no object)'))
    }
    print(', '.join(f'{k} {v:.3f}' for k, v in objects.items()))
    print(', '.join(f'{u}: {s:.1f}%' for u, s in shares.items()))
    print(f"{shares['other class']:.1f}%")
    shares.update(objects)
    return dict(shares, regions=total, images=images)


if __name__ == '__main__':
    main()
