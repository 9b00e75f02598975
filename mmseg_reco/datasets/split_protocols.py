"""Label-split protocols: which training images are labelled, and how much.

Pure functions (numpy and Pillow) used by ``tools/make_splits.py``; the
datasets read the files they write with
:class:`~mmseg_reco.datasets.splits.SplitFileMixin`.

Protocols:

* :func:`class_balanced_split`: ReCo's *Partial Dataset Full Labels*
  sampling (ReCo, arXiv 2104.04465, section 4.1 and the authors'
  ``build_data.py``): images are visited in a random order and an image is
  accepted when it holds at least ``min_classes`` distinct classes and one of
  the classes seen least often in the images accepted so far (3 classes for
  Pascal VOC, background counted; 12 for Cityscapes).
* :func:`least_class_split`: the SUN RGB-D rule of the authors' code: each
  image is drawn at random among the images holding the currently
  least-seen class.
* :func:`random_split` with :func:`ratio_count`: plain random subsets of a
  fixed size or ratio (the memory-bank paper, RC2L, PseudoSeg and the
  1464-image 'original VOC' protocol).
* :func:`partial_label`: ReCo's *Partial Labels Full Dataset* labels: for
  every class of an image, one random pixel grown by repeated 5x5 dilation
  inside the class mask until ``int(share x class pixels)`` pixels.

The split-file readers of :mod:`mmseg_reco.datasets.splits`
(:func:`read_split`, :func:`check_files_exist`) are imported here too, so
that a tool finds every split-file function in this module.
"""
import os
import os.path as osp
from fractions import Fraction
from typing import Callable, Iterable, List, Sequence, Tuple

import numpy as np

from .splits import _shorten, check_files_exist, list_stems, read_split

#: Label value of unlabelled / void pixels.
IGNORE_INDEX = 255
#: Side of the square dilation kernel of ReCo's partial labels.
PARTIAL_KERNEL_SIZE = 5


# --------------------------------------------------------------------------
# split files
# --------------------------------------------------------------------------
def write_split(path: str, stems: Sequence[str]) -> None:
    """Write a split file, one stem per line (creates the folder).

    Raises:
        ValueError: ``stems`` is empty (an empty split is never useful).
    """
    if len(stems) == 0:
        raise ValueError(f'refusing to write the empty split file {path!r}')
    folder = osp.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, 'w') as f:
        f.write(''.join(f'{stem}\n' for stem in stems))


def check_subset(stems: Sequence[str], known: Iterable[str],
                 source: str, known_name: str) -> None:
    """Raise if a split names images outside a known list.

    Args:
        stems (Sequence[str]): The stems to check.
        known (Iterable[str]): The stems that exist.
        source (str): Where ``stems`` come from (a split file), for the
            message.
        known_name (str): What ``known`` is, for the message.

    Raises:
        ValueError: Some stems are unknown; the message names ``source`` and
            the first unknown stems.
    """
    known = set(known)
    unknown = [stem for stem in stems if stem not in known]
    if unknown:
        raise ValueError(f'{source} names {len(unknown)} image(s) that are '
                         f'not in {known_name}: {_shorten(unknown)}')


# --------------------------------------------------------------------------
# labels
# --------------------------------------------------------------------------
def load_label(path: str,
               num_classes: int,
               reduce_zero_label: bool = False,
               ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Read a label map as train ids in ``[0, num_classes)`` or ignore.

    Palette PNGs (Pascal VOC, GTA5) are read as their palette indices, as
    mmseg's ``LoadAnnotations`` (Pillow backend, ``'unchanged'``) reads them.

    Args:
        path (str): A single-channel label image.
        num_classes (int): Number of classes C.
        reduce_zero_label (bool): Map 0 to ``ignore_index`` and ``v`` to
            ``v - 1`` (SUN RGB-D stores 0 = void, 1..37 = classes), as
            mmseg's ``reduce_zero_label``. Default: False.
        ignore_index (int): The void label. Default: 255.

    Returns:
        np.ndarray: (H, W) int64 train ids, ``ignore_index`` where void.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: The image has several channels or holds ids outside
            ``[0, num_classes)`` and ``ignore_index`` (the message names the
            file and the ids).
    """
    from PIL import Image
    if not osp.isfile(path):
        raise FileNotFoundError(f'label {path!r} does not exist')
    with Image.open(path) as img:
        label = np.asarray(img)
    if label.ndim != 2:
        raise ValueError(f'label {path!r} has shape {label.shape}: expected '
                         'a single-channel (H, W) label map')
    label = label.astype(np.int64)
    if reduce_zero_label:
        label = np.where(label == 0, ignore_index, label - 1)
        label[label == ignore_index - 1] = ignore_index
    bad = (label < 0) | ((label >= num_classes) & (label != ignore_index))
    if bad.any():
        ids = np.unique(label[bad])
        raw = ids + 1 if reduce_zero_label else ids
        raise ValueError(
            f'label {path!r} holds id(s) {raw.tolist()} outside the '
            f'{num_classes} classes (valid: 0..{num_classes - 1}'
            f'{" after reduce_zero_label" if reduce_zero_label else ""} and '
            f'{ignore_index} = ignore)')
    return label


def encode_label(train_ids: np.ndarray,
                 reduce_zero_label: bool = False,
                 ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Inverse of :func:`load_label`'s mapping, for writing label PNGs.

    Args:
        train_ids (np.ndarray): (H, W) train ids or ``ignore_index``.
        reduce_zero_label (bool): Write ``id + 1`` and 0 for void.
            Default: False.
        ignore_index (int): The void label. Default: 255.

    Returns:
        np.ndarray: (H, W) uint8 label map in the dataset's file encoding.
    """
    if reduce_zero_label:
        out = np.where(train_ids == ignore_index, 0, train_ids + 1)
    else:
        out = train_ids
    return out.astype(np.uint8)


def class_presence(labels: Iterable[np.ndarray],
                   num_classes: int) -> np.ndarray:
    """Which classes each label map holds.

    Args:
        labels (Iterable[np.ndarray]): N label maps (H, W) of train ids;
            values outside ``[0, num_classes)`` (ignore) are skipped.
        num_classes (int): Number of classes C.

    Returns:
        np.ndarray: (N, C) bool, ``[i, c]`` true when image ``i`` holds
        class ``c``.
    """
    rows = []
    for label in labels:
        flat = np.asarray(label).ravel()
        flat = flat[(flat >= 0) & (flat < num_classes)]
        rows.append(np.bincount(flat, minlength=num_classes) > 0)
    if not rows:
        return np.zeros((0, num_classes), bool)
    return np.stack(rows)


# --------------------------------------------------------------------------
# image-level splits
# --------------------------------------------------------------------------
def _check_num_labelled(num_labelled: int, available: int, what: str) -> None:
    if int(num_labelled) != num_labelled or num_labelled < 1:
        raise ValueError(
            f'num_labelled must be a positive integer, got {num_labelled}')
    if num_labelled > available:
        raise ValueError(f'cannot draw {num_labelled} labelled images: only '
                         f'{available} {what}')


def _eligible(presence: np.ndarray, num_labelled: int,
              min_classes: int) -> np.ndarray:
    """Images with at least ``min_classes`` classes; checks feasibility."""
    presence = np.asarray(presence, bool)
    if presence.ndim != 2:
        raise ValueError(f'presence must be (N, C), got {presence.shape}')
    num_images, num_classes = presence.shape
    if min_classes > num_classes:
        raise ValueError(f'min_classes={min_classes} is impossible with '
                         f'{num_classes} classes')
    eligible = presence.sum(1) >= max(min_classes, 1)
    _check_num_labelled(
        num_labelled, int(eligible.sum()),
        f'of the {num_images} images hold at least {max(min_classes, 1)} '
        'distinct classes (lower min_classes or num_labelled)')
    return eligible


def _split_result(chosen: Sequence[int], num_images: int,
                  keep_order: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    chosen = np.asarray(chosen, np.int64)
    mask = np.zeros(num_images, bool)
    mask[chosen] = True
    labelled = chosen if keep_order else np.flatnonzero(mask)
    return labelled, np.flatnonzero(~mask)


def class_balanced_split(
        presence: np.ndarray,
        num_labelled: int,
        min_classes: int = 3,
        seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """ReCo's class-balanced choice of labelled images (arXiv 2104.04465, 4.1).

    The images are visited in a random order (a seeded permutation). An
    image is accepted as labelled when it holds at least ``min_classes``
    distinct classes and at least one of the *least-seen* classes, i.e. the
    classes counted least often over the images accepted so far (all classes
    before the first acceptance). Rejected images are visited again, in the
    order they were rejected, once every image has been visited. ReCo uses
    ``min_classes`` 3 for Pascal VOC (background counted) and 12 for
    Cityscapes.

    Difference to the authors' ``build_data.py``: the least-seen classes are
    taken among the classes that some still unlabelled eligible image holds.
    The authors' loop never ends once the least-seen class has no image
    left; otherwise both rules accept the same images.

    Args:
        presence (np.ndarray): (N, C) bool, image ``i`` holds class ``c``
            (see :func:`class_presence`).
        num_labelled (int): Number of labelled images to draw.
        min_classes (int): Minimum number of distinct classes of a labelled
            image. Default: 3 (ReCo's Pascal VOC setting).
        seed (int): Seed of the visiting order. Default: 0.

    Returns:
        tuple[np.ndarray, np.ndarray]: Indices of the labelled images, in the
        order they were accepted, and sorted indices of the unlabelled
        images; together they are ``0..N-1``.

    Raises:
        ValueError: ``num_labelled`` exceeds the number of images with at
            least ``min_classes`` classes, or ``min_classes`` exceeds C.
    """
    presence = np.asarray(presence, bool)
    eligible = _eligible(presence, num_labelled, min_classes)
    rng = np.random.default_rng(seed)
    order = rng.permutation(presence.shape[0])
    queue = order[eligible[order]]
    rejected: List[np.ndarray] = []
    # classes held by eligible images not yet labelled
    available = presence[queue].sum(0)
    counts = np.zeros(presence.shape[1], np.int64)
    chosen: List[int] = []
    while len(chosen) < num_labelled:
        live = available > 0
        least = live & (counts == counts[live].min())
        hits = presence[queue][:, least].any(1)
        if not hits.any():
            # one pass done: visit the rejected images again
            queue = np.concatenate(rejected + [queue])
            rejected = []
            continue
        first = int(np.argmax(hits))
        rejected.append(queue[:first])
        image = int(queue[first])
        queue = queue[first + 1:]
        chosen.append(image)
        counts += presence[image]
        available -= presence[image]
    return _split_result(chosen, presence.shape[0], keep_order=True)


def least_class_split(
        presence: np.ndarray,
        num_labelled: int,
        min_classes: int = 1,
        seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """ReCo's SUN RGB-D choice of labelled images (the authors' code).

    Repeatedly take the least-seen class (the lowest class id among ties),
    counted over the images labelled so far and restricted to classes that
    some unlabelled image still holds, and label a random unlabelled image
    holding it. There is no minimum number of classes beyond the one class
    that made the image drawn; the paper states "at least 1" for SUN RGB-D,
    hence ``min_classes=1``.

    Args:
        presence (np.ndarray): (N, C) bool class presence.
        num_labelled (int): Number of labelled images to draw.
        min_classes (int): Images with fewer distinct classes are never
            drawn. Default: 1.
        seed (int): Seed of the random choices. Default: 0.

    Returns:
        tuple[np.ndarray, np.ndarray]: Indices of the labelled images, in the
        order they were drawn, and sorted indices of the unlabelled images.

    Raises:
        ValueError: Fewer than ``num_labelled`` images hold ``min_classes``
            classes.
    """
    presence = np.asarray(presence, bool)
    eligible = _eligible(presence, num_labelled, min_classes)
    rng = np.random.default_rng(seed)
    order = rng.permutation(presence.shape[0])
    order = order[eligible[order]]
    # per class, the eligible images holding it, in the random order
    ordered = presence[order]
    per_class = [order[ordered[:, c]] for c in range(presence.shape[1])]
    pointer = np.zeros(presence.shape[1], np.int64)
    available = ordered.sum(0)
    counts = np.zeros(presence.shape[1], np.int64)
    taken = np.zeros(presence.shape[0], bool)
    chosen: List[int] = []
    while len(chosen) < num_labelled:
        live = available > 0
        cls = int(np.flatnonzero(live & (counts == counts[live].min()))[0])
        pool = per_class[cls]
        while taken[pool[pointer[cls]]]:
            pointer[cls] += 1
        image = int(pool[pointer[cls]])
        taken[image] = True
        chosen.append(image)
        counts += presence[image]
        available -= presence[image]
    return _split_result(chosen, presence.shape[0], keep_order=True)


def random_split(num_images: int, num_labelled: int,
                 seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """A uniformly random labelled subset of a fixed size.

    Args:
        num_images (int): Number of candidate images N.
        num_labelled (int): Size of the labelled subset.
        seed (int): Seed. Default: 0.

    Returns:
        tuple[np.ndarray, np.ndarray]: Sorted labelled and unlabelled image
        indices.

    Raises:
        ValueError: ``num_labelled`` is not in ``[1, N]``.
    """
    _check_num_labelled(num_labelled, num_images, 'images are available')
    rng = np.random.default_rng(seed)
    chosen = rng.choice(num_images, size=int(num_labelled), replace=False)
    return _split_result(chosen, num_images)


def parse_ratio(text) -> Fraction:
    """Parse a labelled ratio such as ``'1/8'``, ``'0.125'`` or ``0.125``.

    Raises:
        ValueError: Not a number in ``(0, 1]``.
    """
    try:
        ratio = Fraction(str(text).strip())
    except (ValueError, ZeroDivisionError):
        raise ValueError(f'cannot read the ratio {text!r}: use e.g. 1/8 or '
                         '0.125') from None
    if not 0 < ratio <= 1:
        raise ValueError(f'ratio {text!r} must be in (0, 1]')
    return ratio


def ratio_count(num_images: int, ratio) -> int:
    """Number of labelled images of a ratio split: ``ceil(ratio * N)``.

    Exact (fractions, no float rounding); this rounding reproduces the
    counts of the published protocols: VOC aug 1/16, 1/8, 1/4, 1/2 -> 662,
    1323, 2646, 5291 (RC2L); VOC train 1/16 -> 92 (PseudoSeg, ReCo Table 2);
    VOC aug 1/50 -> 212; Cityscapes 1/30, 1/8, 1/4 -> 100, 372, 744.

    Args:
        num_images (int): N.
        ratio (str | float | Fraction): The ratio (see :func:`parse_ratio`).

    Returns:
        int: The count, at least 1.
    """
    ratio = parse_ratio(ratio)
    count = -((-ratio.numerator * num_images) // ratio.denominator)
    return max(int(count), 1)


# --------------------------------------------------------------------------
# partial (pixel-level) labels
# --------------------------------------------------------------------------
def draw_seed_pixels(label: np.ndarray, num_classes: int,
                     rng: np.random.Generator) -> np.ndarray:
    """Draw one pixel of every present class, uniformly within the class.

    Args:
        label (np.ndarray): (H, W) integer train ids; values outside
            ``[0, num_classes)`` are void.
        num_classes (int): Number of classes C.
        rng (np.random.Generator): The random generator.

    Returns:
        np.ndarray: (C,) int64 flat (raster) index of each class's pixel,
        -1 for classes absent from ``label``.
    """
    flat = np.asarray(label).reshape(-1).astype(np.int64)
    pos = np.flatnonzero((flat >= 0) & (flat < num_classes))
    cls = flat[pos]
    counts = np.bincount(cls, minlength=num_classes)
    present = np.flatnonzero(counts)
    # the r-th pixel of the class in raster order, r uniform in [0, n_c)
    # (a stable radix sort groups the pixels by class)
    by_class = pos[np.argsort(cls.astype(np.uint16), kind='stable')]
    start = np.cumsum(counts) - counts
    offset = np.minimum(
        (rng.random(present.size) * counts[present]).astype(np.int64),
        counts[present] - 1)
    seeds = np.full(num_classes, -1, np.int64)
    seeds[present] = by_class[start[present] + offset]
    return seeds


def grow_partial_label(label: np.ndarray,
                       seeds: np.ndarray,
                       share: float,
                       num_classes: int,
                       kernel_size: int = PARTIAL_KERNEL_SIZE,
                       ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Grow every class's seed pixel by repeated dilation (ReCo, 4.1).

    For every class ``c`` present, a mask holding only its seed pixel is
    dilated repeatedly with a ``kernel_size`` x ``kernel_size`` square, and
    the pixels of the class inside the dilated mask are kept, until at
    least ``max(int(share * n_c), 1)`` pixels are kept (``n_c``: pixels of
    class ``c``). Every other pixel becomes ``ignore_index``. As in the
    authors' code, the dilation grows the whole square and only the count
    is taken inside the class mask, so the kept region may reach separate
    parts of the class, and the growth always ends.

    The result equals that loop exactly but is computed in closed form for
    all classes at once: ``k`` dilations of one pixel give the square of
    Chebyshev radius ``k * (kernel_size // 2)``, so a class pixel at
    Chebyshev distance ``d`` from its seed joins at dilation ``ceil(d / r)``;
    a (C, steps) histogram of the joining steps gives, per class, the first
    dilation that reaches the target, and the kept pixels are those joining
    no later.

    Args:
        label (np.ndarray): (H, W) integer train ids; values outside
            ``[0, num_classes)`` are void.
        seeds (np.ndarray): (C,) flat index of each present class's seed
            pixel, which must belong to the class (see
            :func:`draw_seed_pixels`).
        share (float): Target share of each class's pixels, in ``[0, 1]``;
            0 keeps the seed pixel only.
        num_classes (int): Number of classes C.
        kernel_size (int): Side of the square kernel (odd). Default: 5.
        ignore_index (int): Value of the unlabelled pixels. Default: 255.

    Returns:
        np.ndarray: (H, W) array of ``label``'s dtype (at least 8 bits): the
        label where kept, ``ignore_index`` elsewhere.
    """
    if not 0 <= share <= 1:
        raise ValueError(f'share must be in [0, 1], got {share}')
    if kernel_size < 3 or kernel_size % 2 == 0:
        raise ValueError(f'kernel_size must be odd and >= 3, got '
                         f'{kernel_size}')
    label = np.asarray(label)
    height, width = label.shape
    flat = label.reshape(-1).astype(np.int64)
    pos = np.flatnonzero((flat >= 0) & (flat < num_classes))
    out = np.full(flat.shape, ignore_index, dtype=np.int64)
    if pos.size:
        cls = flat[pos]
        counts = np.bincount(cls, minlength=num_classes)
        seed = np.asarray(seeds, np.int64)[cls]
        dist = np.maximum(np.abs(pos // width - seed // width),
                          np.abs(pos % width - seed % width))
        step = -(-dist // (kernel_size // 2))  # dilation at which it joins
        target = np.maximum(
            np.floor(share * counts.astype(np.float64)).astype(np.int64), 1)
        num_steps = int(step.max()) + 1
        hist = np.bincount(cls * num_steps + step,
                           minlength=num_classes * num_steps)
        reached = np.cumsum(hist.reshape(num_classes, num_steps),
                            axis=1) >= target[:, None]
        last = np.argmax(reached, axis=1)
        keep = step <= last[cls]
        out[pos[keep]] = cls[keep]
    dtype = np.promote_types(label.dtype, np.uint8)
    return out.reshape(height, width).astype(dtype)


def partial_label(label: np.ndarray,
                  share: float,
                  num_classes: int,
                  rng: np.random.Generator,
                  kernel_size: int = PARTIAL_KERNEL_SIZE,
                  ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """ReCo's partial label of one image (ReCo, arXiv 2104.04465, section 4.1).

    One uniformly drawn pixel per present class (:func:`draw_seed_pixels`),
    grown by repeated ``kernel_size`` x ``kernel_size`` dilation inside the
    class until ``max(int(share * n_c), 1)`` pixels
    (:func:`grow_partial_label`); the rest is ``ignore_index``. ReCo's
    settings: 1 pixel (``share=0``), 1%, 5% and 25%.

    Args:
        label (np.ndarray): (H, W) integer train ids; values outside
            ``[0, num_classes)`` are void.
        share (float): Target share of each class's pixels, in ``[0, 1]``.
        num_classes (int): Number of classes C.
        rng (np.random.Generator): Draws the seed pixels.
        kernel_size (int): Side of the square dilation kernel (odd).
            Default: 5.
        ignore_index (int): Value of the unlabelled pixels. Default: 255.

    Returns:
        np.ndarray: (H, W) partial label, ``label``'s dtype (at least 8
        bits).
    """
    seeds = draw_seed_pixels(label, num_classes, rng)
    return grow_partial_label(label, seeds, share, num_classes, kernel_size,
                              ignore_index)


def parse_share(text) -> float:
    """Parse a partial-label share: ``'1px'`` (one pixel, 0), ``'1%'``,
    ``'0.05'`` or a number.

    Raises:
        ValueError: Not a share in ``[0, 1]``.
    """
    value = str(text).strip().lower()
    try:
        if value in ('1px', 'px', 'pixel', '1pixel'):
            share = 0.0
        elif value.endswith('%'):
            share = float(value[:-1]) / 100
        elif value.endswith('pct'):
            share = float(value[:-3]) / 100
        else:
            share = float(value)
    except ValueError:
        raise ValueError(f'cannot read the share {text!r}: use 1px, 1%, 5%, '
                         '25% or a number in [0, 1]') from None
    if not 0 <= share <= 1:
        raise ValueError(f'share {text!r} must be in [0, 1]')
    return share


def share_tag(share: float) -> str:
    """File-name tag of a share: 0 -> ``'p1px'``, 0.01 -> ``'p1pct'``,
    0.125 -> ``'p12.5pct'``."""
    if share == 0:
        return 'p1px'
    pct = f'{share * 100:.6f}'.rstrip('0').rstrip('.')
    return f'p{pct}pct'


def ratio_tag(ratio) -> str:
    """File-name tag of a ratio: 1/8 -> ``'1of8'``."""
    ratio = parse_ratio(ratio)
    return f'{ratio.numerator}of{ratio.denominator}'


def seed_suffix(seed: int) -> str:
    """``''`` for seed 0, ``'-seed<k>'`` otherwise."""
    return '' if int(seed) == 0 else f'-seed{int(seed)}'


def image_rng(seed: int, stem: str) -> np.random.Generator:
    """Random generator of one image: depends on the seed and the stem only,
    so labels do not depend on processing order or parallelism."""
    import zlib
    return np.random.default_rng([int(seed), zlib.crc32(stem.encode())])


def map_parallel(func: Callable, items: Sequence, nproc: int = 1) -> list:
    """``[func(x) for x in items]``, in ``nproc`` processes when > 1."""
    if nproc <= 1 or len(items) < 2:
        return [func(item) for item in items]
    from multiprocessing import get_context
    with get_context('fork').Pool(nproc) as pool:
        chunk = max(1, len(items) // (8 * nproc))
        return pool.map(func, items, chunksize=chunk)

__all__ = [
    'IGNORE_INDEX', 'PARTIAL_KERNEL_SIZE', 'read_split', 'write_split',
    'list_stems', 'check_subset', 'check_files_exist', 'load_label',
    'encode_label', 'class_presence', 'class_balanced_split',
    'least_class_split', 'random_split', 'parse_ratio', 'ratio_count',
    'draw_seed_pixels', 'grow_partial_label', 'partial_label', 'parse_share',
    'share_tag', 'ratio_tag', 'seed_suffix', 'image_rng', 'map_parallel'
]
