"""ReCo's class relation graph (Eq. 3) over a dataset, and its pictures.

`ReCo <https://arxiv.org/abs/2104.04465>`_, section 5 (Fig. 8-9): every
class is represented by the mean of all its pixel embeddings over the
validation set (the positive key of Eq. 2, averaged over the whole set
instead of a mini-batch); the relation graph holds the normalised dot
product (cosine similarity) of each pair of class means (Eq. 3, which the
paper defines for p != q; the diagonal is 1 by the same formula); the
dendrogram clusters the classes hierarchically (SciPy) on the distance
1 - G.

The accumulation is pure torch and the plots use matplotlib's Agg backend,
so nothing here needs mmseg.
"""
import csv
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

#: Guard of the L2 normalisation (the value ``F.cosine_similarity`` uses).
NORM_EPS = 1e-8


def accumulate_class_sums(feats: Tensor,
                          labels: Tensor,
                          num_classes: int,
                          ignore_index: int = 255,
                          sums: Optional[Tensor] = None,
                          counts: Optional[Tensor] = None
                          ) -> Tuple[Tensor, Tensor]:
    """Add the embeddings of a batch to running per-class sums.

    Labels are resized to the embedding's size by nearest neighbour; pixels
    labelled ``ignore_index`` (or outside ``[0, num_classes)``) are left out.
    One ``index_add_`` over all pixels, no loop over classes or pixels.

    Args:
        feats (Tensor): (N, D, h, w) pixel embeddings.
        labels (Tensor): (N, H, W) integer labels.
        num_classes (int): number of classes K.
        ignore_index (int): label of pixels to leave out. Default: 255.
        sums (Tensor, optional): (K, D) float64 running sums to add to.
        counts (Tensor, optional): (K,) float64 running pixel counts.

    Returns:
        tuple[Tensor, Tensor]: updated sums (K, D) and counts (K,), float64
        on ``feats``' device.
    """
    assert feats.dim() == 4 and labels.dim() == 3, (feats.shape, labels.shape)
    num, dim = feats.shape[:2]
    assert labels.shape[0] == num, (feats.shape, labels.shape)
    if sums is None:
        sums = feats.new_zeros(num_classes, dim, dtype=torch.float64)
    if counts is None:
        counts = feats.new_zeros(num_classes, dtype=torch.float64)
    if labels.shape[1:] != feats.shape[2:]:
        labels = F.interpolate(
            labels[:, None].float(), size=feats.shape[2:],
            mode='nearest')[:, 0]
    labels = labels.long().flatten()
    table = feats.permute(0, 2, 3, 1).reshape(-1, dim).to(torch.float64)
    valid = (labels != ignore_index) & (labels >= 0) & (labels < num_classes)
    # invalid pixels go to an extra row that is dropped
    index = torch.where(valid, labels, torch.full_like(labels, num_classes))
    extra_sums = sums.new_zeros(num_classes + 1, dim)
    extra_sums.index_add_(0, index, table)
    extra_counts = counts.new_zeros(num_classes + 1)
    extra_counts.index_add_(0, index,
                            torch.ones_like(index, dtype=torch.float64))
    return sums + extra_sums[:num_classes], counts + extra_counts[:num_classes]


def class_means(sums: Tensor, counts: Tensor) -> Tensor:
    """Mean embedding per class (Eq. 2's positive key over a dataset).

    Args:
        sums (Tensor): (K, D) per-class sums.
        counts (Tensor): (K,) per-class pixel counts.

    Returns:
        Tensor: (K, D) means; NaN rows for classes without pixels.
    """
    means = sums / counts.clamp(min=1)[:, None]
    return torch.where(counts[:, None] > 0, means,
                       torch.full_like(means, float('nan')))


def relation_graph(means: Tensor) -> Tensor:
    """Eq. 3: cosine similarity between every pair of class means.

    Args:
        means (Tensor): (K, D) class means; NaN rows for absent classes.

    Returns:
        Tensor: (K, K) symmetric matrix in [-1, 1] with a unit diagonal for
        present classes; NaN rows and columns for absent classes.
    """
    unit = F.normalize(means.to(torch.float64), dim=1, eps=NORM_EPS)
    graph = (unit @ unit.t()).clamp(-1, 1)
    graph = (graph + graph.t()) / 2
    present = ~torch.isnan(means).any(dim=1)
    diag = torch.where(present, torch.ones_like(graph.diagonal()),
                       torch.full_like(graph.diagonal(), float('nan')))
    return graph.diagonal_scatter(diag)


def write_matrix_csv(matrix: np.ndarray, class_names: Sequence[str],
                     path: str, precision: int = 4) -> None:
    """Write a (K, K) matrix as CSV with class names as header and index.

    Args:
        matrix (np.ndarray): (K, K) values; NaN is written as an empty cell.
        class_names (Sequence[str]): K class names.
        path (str): output file.
        precision (int): decimals. Default: 4.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['class'] + list(class_names))
        for name, row in zip(class_names, matrix):
            writer.writerow([name] + [
                '' if np.isnan(v) else f'{v:.{precision}f}' for v in row
            ])


def read_matrix_csv(path: str) -> Tuple[np.ndarray, list]:
    """Read a matrix written by :func:`write_matrix_csv`.

    Returns:
        tuple[np.ndarray, list[str]]: (K, K) float64 matrix (NaN for empty
        cells) and the K class names.
    """
    with open(path, newline='') as f:
        rows = list(csv.reader(f))
    names = rows[0][1:]
    matrix = np.array([[float(v) if v else np.nan for v in row[1:]]
                       for row in rows[1:]], dtype=np.float64)
    return matrix, names


def _present(matrix: np.ndarray, class_names: Sequence[str]):
    matrix = np.asarray(matrix, dtype=np.float64)
    keep = ~np.isnan(np.diag(matrix))
    return matrix[np.ix_(keep, keep)], [
        n for n, k in zip(class_names, keep) if k
    ]


def plot_relation_graph(matrix: np.ndarray,
                        class_names: Sequence[str],
                        path: str,
                        title: Optional[str] = None,
                        cmap: str = 'viridis',
                        annotate: Optional[bool] = None) -> None:
    """Heatmap of the relation graph (brighter = closer, as ReCo Fig. 8).

    Absent classes (NaN diagonal) are left out.

    Args:
        matrix (np.ndarray): (K, K) relation graph.
        class_names (Sequence[str]): K class names.
        path (str): output PNG.
        title (str, optional): figure title.
        cmap (str): matplotlib colour map. Default: ``'viridis'``.
        annotate (bool, optional): print the values in the cells. Default:
            when K <= 20.
    """
    import matplotlib.pyplot as plt

    matrix, names = _present(matrix, class_names)
    num = len(names)
    annotate = num <= 20 if annotate is None else annotate
    size = max(4.0, 0.45 * num + 2.0)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    image = ax.imshow(matrix, cmap=cmap, vmin=min(0.0, np.nanmin(matrix)),
                      vmax=1.0)
    ax.set_xticks(range(num), names, rotation=90)
    ax.set_yticks(range(num), names)
    if annotate:
        for i in range(num):
            for j in range(num):
                ax.text(j, i, f'{matrix[i, j]:.2f}', ha='center',
                        va='center', fontsize=6,
                        color='black' if matrix[i, j] > 0.6 else 'white')
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04,
                 label='cosine similarity of class means')
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def linkage_from_graph(matrix: np.ndarray, method: str = 'average'
                       ) -> np.ndarray:
    """SciPy hierarchical clustering on the distance 1 - G.

    Args:
        matrix (np.ndarray): (K, K) relation graph without NaN.
        method (str): linkage method of ``scipy.cluster.hierarchy.linkage``
            that accepts a precomputed distance (``'average'``,
            ``'complete'``, ``'single'``, ``'weighted'``). Default:
            ``'average'``.

    Returns:
        np.ndarray: (K - 1, 4) linkage matrix.
    """
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform
    distance = np.clip(1.0 - np.asarray(matrix, dtype=np.float64), 0, 2)
    distance = (distance + distance.T) / 2
    np.fill_diagonal(distance, 0.0)
    return linkage(squareform(distance, checks=False), method=method)


def plot_dendrogram(matrix: np.ndarray,
                    class_names: Sequence[str],
                    path: str,
                    title: Optional[str] = None,
                    method: str = 'average') -> None:
    """Dendrogram of the classes (ReCo Fig. 8 bottom, Fig. 9).

    Absent classes (NaN diagonal) are left out.

    Args:
        matrix (np.ndarray): (K, K) relation graph.
        class_names (Sequence[str]): K class names.
        path (str): output PNG.
        title (str, optional): figure title.
        method (str): linkage method, see :func:`linkage_from_graph`.
            Default: ``'average'``.
    """
    import matplotlib.pyplot as plt
    from scipy.cluster.hierarchy import dendrogram

    matrix, names = _present(matrix, class_names)
    if len(names) < 2:
        raise ValueError('a dendrogram needs at least two present classes, '
                         f'got {names}')
    fig, ax = plt.subplots(figsize=(max(4.0, 0.5 * len(names) + 2.0), 4.0))
    dendrogram(
        linkage_from_graph(matrix, method),
        labels=list(names),
        leaf_rotation=90,
        ax=ax,
        color_threshold=None)
    ax.set_ylabel(f'1 - cosine similarity ({method} linkage)')
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
