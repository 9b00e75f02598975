"""Colour masks to index maps (``tools/convert_color_masks.py``).

A colour mask paints each class in its colour (RGB); a label map holds the
class index per pixel. :func:`convert_color_mask` maps each colour of the
palette (class ``i`` has colour ``palette[i]``) to ``i`` and every other
colour to the ignore index, counting those pixels;
:func:`convert_color_masks` converts a folder.
"""
import ast
import os
import os.path as osp
import shutil
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image

from .label_maps import IGNORE_INDEX

Colour = Tuple[int, int, int]


def _codes(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 colours -> (...) int64 codes r * 2^16 + g * 2^8 + b."""
    rgb = rgb.astype(np.int64)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def check_palette(palette: Sequence[Sequence[int]],
                  ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """The palette as a (C, 3) uint8 array, checked.

    Raises:
        ValueError: Empty, not RGB triples in 0..255, a colour used twice
            (the mapping would be ambiguous), or so many classes that an
            index would reach ``ignore_index``.
    """
    array = np.asarray(palette)
    if array.ndim != 2 or array.shape[1] != 3 or array.shape[0] == 0:
        raise ValueError('palette must be a list of [r, g, b] colours, got '
                         f'{palette!r}')
    if ((array < 0) | (array > 255)).any():
        raise ValueError(f'palette colours must lie in 0..255: {palette!r}')
    if len(array) > ignore_index:
        raise ValueError(f'{len(array)} classes: index {ignore_index} would '
                         'clash with the ignore index')
    codes = _codes(array)
    dup = [c for c, n in Counter(codes.tolist()).items() if n > 1]
    if dup:
        twice = [tuple(int(v) for v in array[codes.tolist().index(c)])
                 for c in dup]
        raise ValueError(f'palette colour(s) {twice} name more than one '
                         'class')
    return array.astype(np.uint8)


def convert_color_mask(rgb: np.ndarray,
                       palette: Sequence[Sequence[int]],
                       ignore_index: int = IGNORE_INDEX
                       ) -> Tuple[np.ndarray, Counter]:
    """Map a colour mask to class indices.

    Args:
        rgb (np.ndarray): (H, W, 3) uint8 colour mask (RGB order).
        palette (Sequence): C colours, class ``i`` painted ``palette[i]``.
        ignore_index (int): Index of colours not in the palette.
            Default: 255.

    Returns:
        tuple: (H, W) uint8 index map, and a Counter of the unknown colours
        (r, g, b) -> pixels.
    """
    table = check_palette(palette, ignore_index)
    codes = _codes(np.asarray(rgb)[..., :3])
    order = np.argsort(_codes(table))
    sorted_codes = _codes(table)[order]
    pos = np.clip(np.searchsorted(sorted_codes, codes), 0,
                  len(sorted_codes) - 1)
    known = sorted_codes[pos] == codes
    out = np.where(known, order[pos], ignore_index).astype(np.uint8)
    unknown: Counter = Counter()
    if not known.all():
        values, counts = np.unique(codes[~known], return_counts=True)
        for code, count in zip(values.tolist(), counts.tolist()):
            unknown[((code >> 16) & 255, (code >> 8) & 255,
                     code & 255)] = count
    return out, unknown


@dataclass
class ConversionReport:
    """What :func:`convert_color_masks` did.

    Args:
        converted (list[str]): Colour masks written as index maps.
        copied (list[str]): Single-channel files (already index maps)
            copied unchanged.
        unknown_pixels (int): Pixels of colours outside the palette (set
            to the ignore index).
        unknown_files (dict[str, Counter]): File -> its unknown colours
            and their pixels.
    """
    converted: List[str] = field(default_factory=list)
    copied: List[str] = field(default_factory=list)
    unknown_pixels: int = 0
    unknown_files: Dict[str, Counter] = field(default_factory=dict)

    def format(self, limit: int = 10) -> str:
        lines = [f'{len(self.converted)} colour mask(s) converted, '
                 f'{len(self.copied)} single-channel file(s) copied as they '
                 'are']
        if self.unknown_pixels:
            total: Counter = Counter()
            for colours in self.unknown_files.values():
                total.update(colours)
            common = ', '.join(f'{c} ({n} px)'
                               for c, n in total.most_common(limit))
            lines.append(
                f'{self.unknown_pixels} pixel(s) of colours outside the '
                f'palette, in {len(self.unknown_files)} file(s), set to '
                f'{IGNORE_INDEX}: {common}')
            for path in list(self.unknown_files)[:limit]:
                lines.append(f'  {path}: '
                             f'{sum(self.unknown_files[path].values())} px')
            more = len(self.unknown_files) - limit
            if more > 0:
                lines.append(f'  and {more} more file(s)')
        else:
            lines.append('every colour is in the palette')
        return '\n'.join(lines)


def convert_color_masks(in_dir: str, out_dir: str,
                        palette: Sequence[Sequence[int]],
                        suffix: str = '.png',
                        ignore_index: int = IGNORE_INDEX
                        ) -> ConversionReport:
    """Convert every colour mask under ``in_dir`` to an index-map PNG.

    The tree is kept: ``in_dir/a/b.png`` becomes ``out_dir/a/b.png``
    (single-channel, one class index per pixel). Files that already have
    one channel (grey or palette PNGs) are copied unchanged.

    Args:
        in_dir (str): Folder of colour masks (searched recursively).
        out_dir (str): Output folder (created; may not be ``in_dir``).
        palette (Sequence): C colours, class ``i`` painted ``palette[i]``.
        suffix (str): Suffix of the masks. Default: '.png'.
        ignore_index (int): Index of unknown colours. Default: 255.

    Returns:
        ConversionReport

    Raises:
        FileNotFoundError: ``in_dir`` is missing or holds no mask.
        ValueError: ``out_dir`` is ``in_dir``; a bad palette.
    """
    check_palette(palette, ignore_index)
    if not osp.isdir(in_dir):
        raise FileNotFoundError(f'folder {in_dir!r} does not exist')
    if osp.abspath(in_dir) == osp.abspath(out_dir):
        raise ValueError('write the index maps to another folder than the '
                         f'colour masks ({in_dir!r})')
    names = []
    for root, _, files in os.walk(in_dir):
        names.extend(
            osp.relpath(osp.join(root, n), in_dir) for n in files
            if n.endswith(suffix))
    if not names:
        raise FileNotFoundError(f'no file ending with {suffix!r} in '
                                f'{in_dir!r}')
    report = ConversionReport()
    for rel in sorted(names):
        src = osp.join(in_dir, rel)
        dst = osp.join(out_dir, osp.splitext(rel)[0] + '.png')
        os.makedirs(osp.dirname(dst), exist_ok=True)
        with Image.open(src) as img:
            if len(img.getbands()) == 1:
                shutil.copyfile(src, dst)
                report.copied.append(src)
                continue
            rgb = np.asarray(img.convert('RGB'))
        index, unknown = convert_color_mask(rgb, palette, ignore_index)
        Image.fromarray(index, mode='L').save(dst)
        report.converted.append(src)
        if unknown:
            report.unknown_files[src] = unknown
            report.unknown_pixels += sum(unknown.values())
    return report


def parse_palette(text: str) -> List[List[int]]:
    """A palette given on the command line, or the palette of a config.

    Args:
        text (str): A config file (``.py``; the palette of its training
            datasets' ``metainfo``, or of the registered dataset type's
            ``METAINFO``), a Python list (``'[[0, 0, 0], [255, 0, 0]]'``),
            or colours separated by ``;`` (``'0,0,0;255,0,0'``).

    Returns:
        list[list[int]]: The colours, class 0 first.

    Raises:
        ValueError: The text is neither, or the config names no palette.
    """
    if text.endswith('.py') or osp.isfile(text):
        return palette_from_config(text)
    try:
        if text.lstrip().startswith('['):
            value = ast.literal_eval(text)
        else:
            value = [[int(v) for v in colour.split(',')]
                     for colour in text.split(';') if colour.strip()]
    except (ValueError, SyntaxError):
        raise ValueError(
            f'--palette {text!r}: give a config file, a list such as '
            "'[[0, 0, 0], [255, 0, 0]]', or '0,0,0;255,0,0'") from None
    return [list(map(int, colour)) for colour in value]


def palette_from_config(path: str) -> List[List[int]]:
    """The ``palette`` of a config's datasets (the first found in the
    train, then val loader: ``metainfo['palette']``, else the dataset
    type's ``METAINFO``)."""
    from mmengine.config import Config

    from mmseg.registry import DATASETS
    from .data_check import iter_dataset_cfgs
    cfg = Config.fromfile(path)
    top = (cfg.get('metainfo') or {}).get('palette')
    if top:
        return [list(c) for c in top]
    for _, ds_cfg, _ in iter_dataset_cfgs(cfg):
        palette = (ds_cfg.get('metainfo') or {}).get('palette')
        if palette is None:
            cls = DATASETS.get(ds_cfg.get('type'))
            palette = getattr(cls, 'METAINFO', {}).get('palette')
        if palette:
            return [list(c) for c in palette]
    raise ValueError(f'config {path!r} names no palette: give the colours '
                     "with --palette '0,0,0;255,0,0'")
