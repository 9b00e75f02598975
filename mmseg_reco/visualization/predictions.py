"""Side-by-side segmentation pictures: image, ground truth, predictions."""
from typing import Dict, List, Optional, Sequence

import numpy as np

#: Colour of ignored pixels (label outside the palette): white.
IGNORE_COLOUR = (255, 255, 255)


def colorize(labels: np.ndarray,
             palette: Sequence[Sequence[int]],
             ignore_colour: Sequence[int] = IGNORE_COLOUR) -> np.ndarray:
    """Colour a label map with a palette.

    Args:
        labels (np.ndarray): (H, W) integer labels.
        palette (Sequence): K RGB colours, one per class.
        ignore_colour (Sequence[int]): RGB of labels outside ``[0, K)``
            (e.g. the ignore index). Default: white.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB.
    """
    palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    table = np.concatenate(
        [palette, np.asarray(ignore_colour, np.uint8)[None]], axis=0)
    labels = np.asarray(labels)
    index = np.where((labels >= 0) & (labels < len(palette)), labels,
                     len(palette))
    return table[index]


def plot_prediction_grid(images: List[np.ndarray],
                         gts: List[np.ndarray],
                         predictions: Dict[str, List[np.ndarray]],
                         palette: Sequence[Sequence[int]],
                         path: str,
                         class_names: Optional[Sequence[str]] = None,
                         row_titles: Optional[Sequence[str]] = None,
                         cell_size: float = 1.6) -> None:
    """One row per image: the image, its ground truth, each prediction.

    Args:
        images (list[np.ndarray]): (H, W, 3) uint8 RGB images.
        gts (list[np.ndarray]): (H, W) ground-truth labels.
        predictions (dict[str, list[np.ndarray]]): per method (column
            title), (H, W) predicted labels for every image.
        palette (Sequence): K RGB colours.
        path (str): output PNG.
        class_names (Sequence[str], optional): K names; adds a colour
            legend.
        row_titles (Sequence[str], optional): a label per row (e.g. the
            image's name).
        cell_size (float): inches per picture. Default: 1.6.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    assert len(images) == len(gts) > 0, (len(images), len(gts))
    for name, preds in predictions.items():
        assert len(preds) == len(images), (name, len(preds), len(images))
    columns = ['image', 'ground truth'] + list(predictions)
    rows = len(images)
    legend_height = 0.6 if class_names else 0.0
    fig, axes = plt.subplots(
        rows,
        len(columns),
        figsize=(cell_size * len(columns),
                 cell_size * rows + 0.4 + legend_height),
        squeeze=False)
    for i in range(rows):
        pictures = [images[i], colorize(gts[i], palette)] + [
            colorize(predictions[name][i], palette) for name in predictions
        ]
        for j, picture in enumerate(pictures):
            ax = axes[i, j]
            ax.imshow(picture, interpolation='nearest')
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(columns[j], fontsize=8)
        if row_titles is not None:
            axes[i, 0].set_ylabel(row_titles[i], fontsize=6)
    if class_names:
        handles = [
            Patch(color=np.asarray(c, np.float64) / 255, label=n)
            for n, c in zip(class_names, palette)
        ]
        fig.legend(handles=handles, loc='lower center',
                   ncol=min(len(handles), 6), fontsize=6, frameon=False)
    fig.tight_layout(rect=(0, legend_height / (cell_size * rows + 1.0), 1,
                           1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
