"""Write the labelled/unlabelled split files of the papers' protocols.

Every command writes ``<out-dir>/labelled-<tag>.txt`` and
``<out-dir>/unlabelled-<tag>.txt`` (``<out-dir>`` defaults to
``<data-root>/splits``): one image stem per line, read by the datasets
through ``ann_file``. The unlabelled list is the rest of the training list.
Everything is deterministic given ``--seed``; the tag ends with
``-seed<k>`` for seeds other than 0.

Commands (see docs/datasets.md for every dataset; ``--dataset folder`` is
your own data, docs/custom_data.md):

``class-balanced``  ReCo's labelled images (arXiv 2104.04465, 4.1): each
    accepted image holds ``--min-classes`` distinct classes and one of the
    least-seen classes (VOC 60/200/600, min 3; Cityscapes 20/50/150, min
    12); SUN RGB-D uses the authors' least-class rule (50/150/500).
    Tag: ``<N>``.
``ratio``           A random ``ceil(ratio * N)`` subset (1/50, 1/20, 1/8 ...).
    Tag: ``1of8``.
``count``           A random subset of a fixed size. Tag: ``rand<N>``.
``voc1464``         The 'original VOC' protocol (PseudoSeg, ReCo Table 2):
    labelled images drawn from the 1464 VOC train images (``--ratio 1/16``
    -> 92, ``--num-labelled``, or ``--all``), unlabelled = the rest of the
    10582 augmented set. Tag: ``voc1464-1of16`` / ``voc1464-<N>`` /
    ``voc1464-all``.
``partial``         ReCo's partial labels: for each training image and class,
    one pixel grown by 5x5 dilations inside the class to ``int(share x
    class pixels)``; new label PNGs in ``<seg-dir>_<tag>`` (e.g.
    ``SegmentationClassAug_p1pct``); labelled and unlabelled lists are both
    the whole training list. Tag: ``p1px``, ``p1pct``, ``p5pct``,
    ``p25pct``.

Examples::

    python tools/make_splits.py class-balanced --dataset fashion_canvas \\
        --data-root data/fashion_canvas --num-labelled 60 --seed 0
    python tools/make_splits.py class-balanced --dataset voc12aug \\
        --num-labelled 200 --seed 1
    python tools/make_splits.py ratio --dataset cityscapes --ratio 1/8
    python tools/make_splits.py voc1464 --ratio 1/16
    python tools/make_splits.py partial --dataset voc12aug --share 1%
    python tools/make_splits.py count --dataset folder \\
        --data-root data/my_data --num-labelled 20
"""
import argparse
import functools
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

import numpy as np

from mmseg_reco.datasets import split_protocols as S


#: Folder layout and split rule of each dataset (paths relative to the
#: data root; ``train_list=''`` lists the image folder).
PRESETS: Dict[str, dict] = {
    'voc12aug': dict(
        data_root='data/VOCdevkit/VOC2012',
        train_list='ImageSets/Segmentation/train_aug.txt',
        img_dir='JPEGImages', img_suffix='.jpg',
        seg_dir='SegmentationClassAug', seg_suffix='.png',
        num_classes=21, reduce_zero_label=False,
        rule='reco', min_classes=3,
        voc_train_list='ImageSets/Segmentation/train.txt'),
    'cityscapes': dict(
        data_root='data/cityscapes_512x1024', train_list='',
        img_dir='leftImg8bit/train', img_suffix='_leftImg8bit.png',
        seg_dir='gtFine/train', seg_suffix='_gtFine_labelTrainIds.png',
        num_classes=19, reduce_zero_label=False,
        rule='reco', min_classes=12),
    'sunrgbd': dict(
        data_root='data/sunrgbd', train_list='splits/train.txt',
        img_dir='img_dir/train', img_suffix='.jpg',
        seg_dir='ann_dir/train', seg_suffix='.png',
        num_classes=37, reduce_zero_label=True,
        rule='least-class', min_classes=1),
    'gta5': dict(
        data_root='data/gta5', train_list='splits/train.txt',
        img_dir='images', img_suffix='.png',
        seg_dir='labels', seg_suffix='_labelTrainIds.png',
        num_classes=19, reduce_zero_label=False,
        rule='reco', min_classes=12),
    'fashion_canvas': dict(
        data_root='data/fashion_canvas', train_list='splits/train.txt',
        img_dir='img_dir/train', img_suffix='.png',
        seg_dir='ann_dir/train', seg_suffix='.png',
        num_classes=11, reduce_zero_label=False,
        rule='reco', min_classes=3),
    # your own data (docs/custom_data.md, FolderSegDataset): every image of
    # the labelled folder; --num-classes for the protocols reading labels
    'folder': dict(
        data_root='data/my_data', train_list='',
        img_dir='train/images', img_suffix='.jpg',
        seg_dir='train/labels', seg_suffix='.png',
        num_classes=None, reduce_zero_label=False,
        rule='reco', min_classes=1),
}
RULES = {
    'reco': S.class_balanced_split,
    'least-class': S.least_class_split,
}


class Layout:
    """Resolved paths and settings of one dataset (preset + overrides)."""

    def __init__(self, args: argparse.Namespace) -> None:
        preset = dict(PRESETS[args.dataset])
        for key in ('train_list', 'img_dir', 'img_suffix', 'seg_dir',
                    'seg_suffix', 'num_classes', 'min_classes', 'rule'):
            value = getattr(args, key, None)
            if value is not None:
                preset[key] = value
        self.cfg = preset
        self.root = args.data_root or preset['data_root']
        if not osp.isdir(self.root):
            raise FileNotFoundError(f'data root {self.root!r} does not exist')
        self.img_dir = osp.join(self.root, preset['img_dir'])
        self.seg_dir = osp.join(self.root, preset['seg_dir'])
        self.out_dir = args.out_dir or osp.join(self.root, 'splits')
        self.num_classes = (None if preset['num_classes'] is None else int(
            preset['num_classes']))
        self.reduce_zero_label = bool(preset['reduce_zero_label'])

    def classes(self) -> int:
        """The class count, which protocols reading labels need."""
        if self.num_classes is None:
            raise ValueError(
                'this protocol reads the labels: give --num-classes (the '
                "number of classes in the config's metainfo)")
        return self.num_classes

    def path(self, rel: str) -> str:
        return rel if osp.isabs(rel) else osp.join(self.root, rel)

    def train_stems(self) -> List[str]:
        """The training list; every image and label checked to exist."""
        rel = self.cfg['train_list']
        if rel:
            source = f'train list {self.path(rel)!r}'
            stems = S.read_split(self.path(rel))
        else:
            source = f'image folder {self.img_dir!r}'
            stems = S.list_stems(self.img_dir, self.cfg['img_suffix'])
        S.check_files_exist([self.image(s) for s in stems], source)
        S.check_files_exist([self.label(s) for s in stems], source)
        return stems

    def pool_stems(self, pool: Optional[str],
                   train: Sequence[str]) -> List[str]:
        """Candidate labelled images: ``pool`` (checked to be training
        images) or the whole training list."""
        if not pool:
            return list(train)
        stems = S.read_split(self.path(pool))
        S.check_subset(stems, train, f'pool file {self.path(pool)!r}',
                       'the training list')
        return stems

    def image(self, stem: str) -> str:
        return osp.join(self.img_dir, stem + self.cfg['img_suffix'])

    def label(self, stem: str, seg_dir: Optional[str] = None) -> str:
        return osp.join(seg_dir or self.seg_dir, stem + self.cfg['seg_suffix'])


def _presence_row(path: str, num_classes: int,
                  reduce_zero_label: bool) -> np.ndarray:
    label = S.load_label(path, num_classes, reduce_zero_label)
    return S.class_presence([label], num_classes)[0]


def class_presence_of(layout: Layout, stems: Sequence[str],
                      nproc: int = 1) -> np.ndarray:
    """(N, C) bool class presence of the listed training images."""
    func = functools.partial(_presence_row, num_classes=layout.classes(),
                             reduce_zero_label=layout.reduce_zero_label)
    rows = S.map_parallel(func, [layout.label(s) for s in stems], nproc)
    return np.stack(rows) if rows else np.zeros((0, layout.classes()), bool)


def write_pair(layout: Layout, tag: str, labelled: Sequence[str],
               unlabelled: Sequence[str]) -> Dict[str, str]:
    """Write ``labelled-<tag>.txt`` and ``unlabelled-<tag>.txt``."""
    if not unlabelled:
        raise ValueError(
            f'every one of the {len(labelled)} training images would be '
            'labelled, leaving no unlabelled image: train on the full '
            'training list instead')
    paths = dict(
        labelled=osp.join(layout.out_dir, f'labelled-{tag}.txt'),
        unlabelled=osp.join(layout.out_dir, f'unlabelled-{tag}.txt'))
    S.write_split(paths['labelled'], labelled)
    S.write_split(paths['unlabelled'], unlabelled)
    return paths


def _finish(layout: Layout, args, tag: str, train: Sequence[str],
            labelled_idx: np.ndarray) -> dict:
    """Split ``train`` into labelled/unlabelled lists and write them."""
    labelled = [train[i] for i in labelled_idx]
    chosen = set(labelled)
    unlabelled = [s for s in train if s not in chosen]
    tag = args.tag or tag + S.seed_suffix(args.seed)
    paths = write_pair(layout, tag, labelled, unlabelled)
    return dict(tag=tag, labelled=labelled, unlabelled=unlabelled,
                paths=paths)


def cmd_class_balanced(args) -> dict:
    layout = Layout(args)
    train = layout.train_stems()
    pool = layout.pool_stems(args.pool, train)
    presence = class_presence_of(layout, pool, args.nproc)
    rule = RULES[layout.cfg['rule']]
    idx, _ = rule(presence, args.num_labelled,
                  min_classes=int(layout.cfg['min_classes']), seed=args.seed)
    index = {s: i for i, s in enumerate(train)}
    result = _finish(layout, args, str(args.num_labelled), train,
                     sorted(index[pool[i]] for i in idx))
    result['class_counts'] = presence[idx].sum(0)
    return result


def _random_from_pool(layout: Layout, args, count: int, tag: str,
                      train: Sequence[str], pool: Sequence[str]) -> dict:
    idx, _ = S.random_split(len(pool), count, seed=args.seed)
    index = {s: i for i, s in enumerate(train)}
    return _finish(layout, args, tag, train,
                   sorted(index[pool[i]] for i in idx))


def cmd_ratio(args) -> dict:
    layout = Layout(args)
    train = layout.train_stems()
    pool = layout.pool_stems(args.pool, train)
    count = S.ratio_count(len(pool), args.ratio)
    return _random_from_pool(layout, args, count, S.ratio_tag(args.ratio),
                             train, pool)


def cmd_count(args) -> dict:
    layout = Layout(args)
    train = layout.train_stems()
    pool = layout.pool_stems(args.pool, train)
    return _random_from_pool(layout, args, args.num_labelled,
                             f'rand{args.num_labelled}', train, pool)


def cmd_voc1464(args) -> dict:
    args.dataset = 'voc12aug'
    layout = Layout(args)
    train = layout.train_stems()
    pool = layout.pool_stems(
        args.pool or PRESETS['voc12aug']['voc_train_list'], train)
    if args.all:
        count, tag = len(pool), 'voc1464-all'
    elif args.ratio is not None:
        count = S.ratio_count(len(pool), args.ratio)
        tag = f'voc1464-{S.ratio_tag(args.ratio)}'
    else:
        count, tag = args.num_labelled, f'voc1464-{args.num_labelled}'
    return _random_from_pool(layout, args, count, tag, train, pool)


def _write_partial(stem: str, layout_cfg: dict, share: float, seed: int,
                   out_dir: str) -> np.ndarray:
    """Partial label of one image; returns (C, 2) kept/total pixel counts."""
    import cv2
    num_classes = layout_cfg['num_classes']
    rzl = layout_cfg['reduce_zero_label']
    src = osp.join(layout_cfg['seg_path'], stem + layout_cfg['seg_suffix'])
    label = S.load_label(src, num_classes, rzl)
    part = S.partial_label(label, share, num_classes, S.image_rng(seed, stem))
    dst = osp.join(out_dir, stem + layout_cfg['seg_suffix'])
    os.makedirs(osp.dirname(dst), exist_ok=True)
    if not cv2.imwrite(dst, S.encode_label(part, rzl)):
        raise OSError(f'could not write {dst}')
    kept = np.bincount(part[part < num_classes].ravel(),
                       minlength=num_classes)
    total = np.bincount(label[label < num_classes].ravel(),
                        minlength=num_classes)
    return np.stack([kept, total], axis=1)


def cmd_partial(args) -> dict:
    layout = Layout(args)
    train = layout.train_stems()
    share = S.parse_share(args.share)
    tag = args.tag or S.share_tag(share) + S.seed_suffix(args.seed)
    seg_rel = layout.cfg['seg_dir'].rstrip('/')
    out_rel = args.label_dir or f'{seg_rel}_{tag}'
    out_dir = layout.path(out_rel)
    if osp.abspath(out_dir) == osp.abspath(layout.seg_dir):
        raise ValueError('the partial labels would overwrite the full labels '
                         f'in {out_dir!r}: choose another --label-dir')
    cfg = dict(layout.cfg, seg_path=layout.seg_dir,
               num_classes=layout.classes(),
               reduce_zero_label=layout.reduce_zero_label)
    func = functools.partial(_write_partial, layout_cfg=cfg, share=share,
                             seed=args.seed, out_dir=out_dir)
    stats = np.sum(S.map_parallel(func, train, args.nproc), axis=0)
    paths = write_pair(layout, tag, train, train)
    return dict(tag=tag, labelled=train, unlabelled=train, paths=paths,
                label_dir=out_rel, pixel_counts=stats)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write labelled/unlabelled split files (and partial '
        'labels) for the datasets of the ReCo, memory-bank and RC2L papers',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('Examples::')[-1])
    sub = parser.add_subparsers(dest='command', required=True)

    def common(p, dataset=True):
        if dataset:
            p.add_argument('--dataset', required=True, choices=sorted(PRESETS))
        p.add_argument('--data-root', help='dataset root (default: the '
                       "preset's, e.g. data/VOCdevkit/VOC2012)")
        p.add_argument('--seed', type=int, default=0)
        p.add_argument('--out-dir', help='where the split files go '
                       '(default: <data-root>/splits)')
        p.add_argument('--tag', help='file tag replacing the default '
                       '(labelled-<tag>.txt)')
        p.add_argument('--train-list', help='training list relative to the '
                       "data root ('' lists the image folder)")
        p.add_argument('--img-dir', help='image folder relative to the root')
        p.add_argument('--img-suffix')
        p.add_argument('--seg-dir', help='label folder relative to the root')
        p.add_argument('--seg-suffix')
        p.add_argument('--num-classes', type=int)
        p.add_argument('--nproc', type=int, default=1,
                       help='processes reading/writing labels')

    p = sub.add_parser('class-balanced', help="ReCo's class-balanced images")
    common(p)
    p.add_argument('--num-labelled', type=int, required=True)
    p.add_argument('--min-classes', type=int,
                   help='minimum distinct classes (default: the preset)')
    p.add_argument('--rule', choices=sorted(RULES),
                   help='reco (VOC, Cityscapes) or least-class (SUN RGB-D)')
    p.add_argument('--pool', help='candidate images (default: train list)')
    p.set_defaults(func=cmd_class_balanced)

    p = sub.add_parser('ratio', help='random ceil(ratio x N) images')
    common(p)
    p.add_argument('--ratio', required=True, help='e.g. 1/8 or 0.125')
    p.add_argument('--pool', help='candidate images (default: train list)')
    p.set_defaults(func=cmd_ratio)

    p = sub.add_parser('count', help='a random fixed number of images')
    common(p)
    p.add_argument('--num-labelled', type=int, required=True)
    p.add_argument('--pool', help='candidate images (default: train list)')
    p.set_defaults(func=cmd_count)

    p = sub.add_parser('voc1464', help="labelled images from the 1464 VOC "
                       'train images, unlabelled = rest of the aug set')
    common(p, dataset=False)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument('--ratio', help='e.g. 1/16 (-> 92 images)')
    group.add_argument('--num-labelled', type=int)
    group.add_argument('--all', action='store_true',
                       help='all 1464 images labelled')
    p.add_argument('--pool', help='the 1464-image list (default: '
                   'ImageSets/Segmentation/train.txt)')
    p.set_defaults(func=cmd_voc1464)

    p = sub.add_parser('partial', help="ReCo's partial pixel labels")
    common(p)
    p.add_argument('--share', required=True,
                   help='1px (one pixel per class), 1%%, 5%%, 25%% or 0.05')
    p.add_argument('--label-dir', help='output label folder relative to the '
                   'root (default: <seg-dir>_<tag>)')
    p.set_defaults(func=cmd_partial)
    return parser.parse_args(argv)


def format_result(result: dict) -> str:
    lines = [f'{result["tag"]}: {len(result["labelled"])} labelled, '
             f'{len(result["unlabelled"])} unlabelled']
    for key, path in result['paths'].items():
        lines.append(f'  {key:<10} {path}')
    if 'class_counts' in result:
        counts = result['class_counts']
        lines.append(f'  labelled images per class: min {counts.min()}, '
                     f'max {counts.max()}: {counts.tolist()}')
    if 'label_dir' in result:
        kept, total = result['pixel_counts'].T
        share = kept.sum() / max(total.sum(), 1)
        lines.append(f'  partial labels in {result["label_dir"]} '
                     f'({100 * share:.2f}% of the labelled pixels kept)')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        result = args.func(args)
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(f'error: {exc}')
    print(format_result(result) +
          f'\n  ({time.perf_counter() - start:.1f} s)')
    return result


if __name__ == '__main__':
    main()
