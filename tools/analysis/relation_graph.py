"""ReCo's class relation graph and dendrogram of a trained model.

ReCo section 5 (Fig. 8-9): every class is represented by the mean of all
its pixel embeddings over the validation set; the relation graph holds the
cosine similarity (normalised dot product, Eq. 3) of each pair of class
means, and the dendrogram clusters the classes on 1 - similarity (SciPy,
average linkage by default). Labels are downsampled by nearest neighbour to
the embedding's size; ignored pixels are left out. The evaluated network is
used (``SemiSegmentor``: the teacher or student of ``semi_test_cfg``).

Embeddings (``--embedding``): ``rep`` is ReCo's R, the output of the
representation head (``RepresentationHead``; for the memory-bank method's
``CMBHead`` the projection); ``feat`` is ReCo's Z, the feature the
classifier reads, available for every mmseg decode head (so a supervised
model without a representation head can be compared), and for RC2L's
``RegionHead`` its per-pixel mask features.

Writes into ``--out``: ``relation_graph_<embedding>.csv`` (the matrix, class
names as header and index), ``relation_graph_<embedding>.png`` (heatmap)
and ``dendrogram_<embedding>.png``.

Example (the config dumped into a run's work dir is the one it trained
with)::

    python tools/analysis/relation_graph.py work_dirs/reco/CONFIG.py \
        work_dirs/reco/iter_1000.pth --embedding rep feat --out DIR
"""
import argparse
import os
import os.path as osp
import time
from typing import Optional, Sequence

import torch
from mmengine.config import DictAction

from mmseg.apis import init_model

import mmseg_reco  # noqa: F401  (registers components)
from mmseg_reco.visualization import (EMBEDDINGS, accumulate_class_sums,
                                      build_val_dataset, class_means,
                                      evaluated_model,
                                      iter_batches, pixel_embeddings,
                                      plot_dendrogram, plot_relation_graph,
                                      relation_graph, valid_region,
                                      write_matrix_csv)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Class relation graph (ReCo Eq. 3) and dendrogram of a '
        'trained model over its validation set')
    parser.add_argument('config', help='the config the model was trained '
                        'with')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', default=None, help='output folder '
                        '(default: <checkpoint folder>/relation_graph)')
    parser.add_argument(
        '--embedding', nargs='+', default=['rep'], choices=EMBEDDINGS,
        help="'rep': the representation head's output (ReCo's R, CMB's "
        "projection); 'feat': the classifier's input (ReCo's Z). Several "
        'may be given. Default: rep')
    parser.add_argument('--max-images', type=int, default=None,
                        help='use the first N validation images only')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--linkage', default='average',
                        choices=['average', 'complete', 'single',
                                 'weighted'],
                        help='SciPy linkage of the dendrogram')
    parser.add_argument('--title', default=None,
                        help='figure title (default: the config name)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='config overrides, key=value')
    return parser.parse_args(argv)


@torch.no_grad()
def class_mean_embeddings(model, dataset, embeddings: Sequence[str],
                          max_images: Optional[int] = None,
                          batch_size: int = 1) -> dict:
    """Per-class sums and counts of each embedding over a dataset.

    Args:
        model: the segmentor (eval mode).
        dataset: its validation dataset.
        embeddings (Sequence[str]): ``'rep'`` and/or ``'feat'``.
        max_images (int, optional): first N items only.
        batch_size (int): items per forward. Default: 1.

    Returns:
        dict[str, Tensor]: per embedding, the (K, D) class means (NaN rows
        for classes without pixels); and ``'counts'``, per embedding, the
        (K,) pixel counts.
    """
    segmentor = evaluated_model(model)
    num_classes = len(dataset.metainfo['classes'])
    ignore_index = getattr(segmentor.decode_head, 'ignore_index', 255)
    num = len(dataset) if max_images is None else min(max_images,
                                                      len(dataset))
    sums, counts = {}, {}
    for batch in iter_batches(dataset, list(range(num)), batch_size):
        data = model.data_preprocessor(batch, False)
        inputs, samples = data['inputs'], data['data_samples']
        for name in embeddings:
            feats = pixel_embeddings(segmentor, inputs, name)
            for k, sample in enumerate(samples):
                # the part of the embedding that covers the unpadded image
                rows, cols = valid_region(feats.shape[2:], inputs.shape[2:],
                                          sample.img_shape)
                feat = feats[k:k + 1, :, :rows, :cols]
                label = sample.gt_sem_seg.data.to(feat.device)
                sums[name], counts[name] = accumulate_class_sums(
                    feat, label, num_classes, ignore_index, sums.get(name),
                    counts.get(name))
    out = {name: class_means(sums[name], counts[name]) for name in sums}
    out['counts'] = counts
    return out


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    out_dir = args.out or osp.join(
        osp.dirname(osp.abspath(args.checkpoint)), 'relation_graph')
    os.makedirs(out_dir, exist_ok=True)
    start = time.time()
    model = init_model(args.config, args.checkpoint, args.device,
                       args.cfg_options)
    dataset = build_val_dataset(model.cfg)
    names = list(dataset.metainfo['classes'])
    means = class_mean_embeddings(model, dataset, args.embedding,
                                  args.max_images, args.batch_size)
    title = args.title or osp.splitext(osp.basename(args.config))[0]
    written = {}
    for name in args.embedding:
        graph = relation_graph(means[name]).cpu().numpy()
        absent = [n for n, c in zip(names, means['counts'][name]) if c == 0]
        if absent:
            print(f'{name}: classes without validation pixels (left out of '
                  f'the pictures): {absent}')
        paths = dict(
            csv=osp.join(out_dir, f'relation_graph_{name}.csv'),
            heatmap=osp.join(out_dir, f'relation_graph_{name}.png'),
            dendrogram=osp.join(out_dir, f'dendrogram_{name}.png'))
        write_matrix_csv(graph, names, paths['csv'])
        label = {'rep': 'R (representation)', 'feat': 'Z (classifier input)'}
        plot_relation_graph(graph, names, paths['heatmap'],
                            title=f'{title}\nrelation graph, {label[name]}')
        plot_dendrogram(graph, names, paths['dendrogram'],
                        title=f'{title}\ndendrogram, {label[name]}',
                        method=args.linkage)
        written[name] = dict(paths, matrix=graph)
        print(f'{name}: wrote ' + ', '.join(paths.values()))
    num = min(len(dataset), args.max_images or len(dataset))
    print(f'relation graph over {num} images in {time.time() - start:.1f} s')
    return written


if __name__ == '__main__':
    import matplotlib
    matplotlib.use('Agg')  # figures go to files; no display needed
    main()
