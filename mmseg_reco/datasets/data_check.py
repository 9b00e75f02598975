"""Check the data of a config before training (``tools/check_data.py``).

Walks every dataset of the config's ``train_dataloader`` and
``val_dataloader`` (``ConcatDataset`` members and wrapped datasets
included), reads each file and collects one report: the files per folder,
the image sizes, the label values per class, and every problem with its
file and a fix. Nothing stops at the first problem.

What is read:

- images: the file header only (size and format; Pillow opens lazily), or
  the whole image with ``decode=True``. A truncated file keeps a valid
  header, so only ``decode=True`` finds it;
- label maps: decoded always (their values are what is checked), through
  the dataset's ``label_map`` and ``reduce_zero_label`` as
  ``LoadAnnotations`` applies them.

Problems (:class:`Problem`), by ``kind``:

=================  ========================================================
``colour-mask``    a label map with channels (RGB, RGBA): not an index map
``label-values``   label values outside ``0..C-1`` other than the ignore
                   index (255)
``size-mismatch``  a label map of another height or width than its image
``unreadable``     a missing, empty, non-image (or, decoded, truncated) file
``missing-label``  an image of a labelled folder without its label map
``missing-image``  a label map without its image
``suffix-case``    a file whose suffix differs from the configured one only
                   in case (``.JPG`` for ``.jpg``): the dataset skips it
``dataset``        the dataset cannot be built at all (the message says why)
=================  ========================================================

A problem of a labelled or validation dataset is an ``'error'`` (the run
would stop on it, or train on wrong labels); a problem of an unlabelled
image is a ``'warning'`` (``UnlabelledDataset`` skips unreadable images and
never reads the others), except a dataset that cannot be built.
"""
import os
import os.path as osp
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from PIL import Image

from mmseg.registry import DATASETS

from .splits import read_split

#: Loaders whose datasets are checked, and the role of their datasets.
LOADERS = (('train_dataloader', 'train'), ('val_dataloader', 'val'))

ERROR = 'error'
WARNING = 'warning'


@dataclass
class Problem:
    """One problem of one file (or of a whole dataset).

    Args:
        kind (str): See the module docstring (``'colour-mask'``, ...).
        severity (str): ``'error'`` or ``'warning'``.
        path (str): The file (or folder) concerned.
        message (str): What is wrong.
        fix (str): What to do about it.
    """
    kind: str
    severity: str
    path: str
    message: str
    fix: str


@dataclass
class DatasetReport:
    """What was found in one dataset.

    Args:
        name (str): Where the dataset sits in the config, e.g.
            ``'train_dataloader.dataset.datasets[1]'``.
        type (str): The registered type.
        role (str): ``'labelled'``, ``'unlabelled'`` or ``'validation'``.
        folders (dict[str, tuple]): folder -> (number of files read, what
            they are, suffix).
        ignored (Counter): Suffixes of other files in the image folder,
            which the dataset does not read.
        sizes (Counter): Image (height, width) -> number of images.
        classes (tuple): Class names (C), empty for unlabelled datasets.
        ignore_index (int): The label of ignored pixels.
        class_pixels (np.ndarray): (C,) pixels per class over all labels.
        class_maps (np.ndarray): (C,) label maps holding each class.
        ignore_pixels (int): Pixels equal to ``ignore_index``.
        other_values (Counter): Other label values -> pixels.
        problems (list[Problem]): Problems found.
    """
    name: str
    type: str
    role: str
    folders: Dict[str, Tuple[int, str, str]] = field(default_factory=dict)
    ignored: Counter = field(default_factory=Counter)
    sizes: Counter = field(default_factory=Counter)
    classes: Tuple[str, ...] = ()
    ignore_index: int = 255
    class_pixels: Optional[np.ndarray] = None
    class_maps: Optional[np.ndarray] = None
    ignore_pixels: int = 0
    other_values: Counter = field(default_factory=Counter)
    problems: List[Problem] = field(default_factory=list)


@dataclass
class DataCheckReport:
    """The report of :func:`check_data`.

    Args:
        config (str): The config file (or ``'<config>'``).
        decode (bool): Whether images were decoded.
        datasets (list[DatasetReport]): One per dataset, in config order.
        seconds (float): Wall time of the check.
    """
    config: str
    decode: bool
    datasets: List[DatasetReport]
    seconds: float = 0.0

    @property
    def problems(self) -> List[Problem]:
        """Every problem, errors first, in dataset order."""
        found = [p for d in self.datasets for p in d.problems]
        return ([p for p in found if p.severity == ERROR] +
                [p for p in found if p.severity == WARNING])

    @property
    def errors(self) -> List[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> List[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    def format(self) -> str:
        """The report as printed by ``tools/check_data.py``."""
        return format_report(self)


# --------------------------------------------------------------------------
# walking the config
# --------------------------------------------------------------------------
def iter_dataset_cfgs(cfg: Union[dict, Config]
                      ) -> Iterator[Tuple[str, dict, str]]:
    """Every leaf dataset config of the train and val loaders.

    ``ConcatDataset`` members (``datasets``) and wrapped datasets
    (``dataset``, e.g. ``RepeatDataset``) are walked into.

    Yields:
        tuple: (name, dataset config, loader role ``'train'``/``'val'``).
    """
    for loader, role in LOADERS:
        loader_cfg = cfg.get(loader)
        if not loader_cfg or not loader_cfg.get('dataset'):
            continue
        stack = [(f'{loader}.dataset', loader_cfg['dataset'])]
        while stack:
            name, ds_cfg = stack.pop(0)
            if 'datasets' in ds_cfg:
                stack[:0] = [(f'{name}.datasets[{i}]', member)
                             for i, member in enumerate(ds_cfg['datasets'])]
            elif 'dataset' in ds_cfg and 'type' in ds_cfg and \
                    not _is_dataset_leaf(ds_cfg):
                stack.insert(0, (f'{name}.dataset', ds_cfg['dataset']))
            else:
                yield name, ds_cfg, role


def _is_dataset_leaf(ds_cfg: dict) -> bool:
    return 'data_prefix' in ds_cfg or 'data_root' in ds_cfg


def _dataset_class(ds_cfg: dict):
    type_ = ds_cfg.get('type')
    return type_ if isinstance(type_, type) else DATASETS.get(type_)


def check_data(cfg: Union[str, dict, Config],
               decode: bool = False,
               config_path: Optional[str] = None) -> DataCheckReport:
    """Check every dataset of the train and val loaders of ``cfg``.

    Args:
        cfg (str | dict | Config): The config or its file.
        decode (bool): Decode every image (finds truncated files), not only
            its header. Label maps are always decoded. Default: False.
        config_path (str, optional): The config file, named in the report
            and in the fixes; default: ``cfg`` when it is a path.

    Returns:
        DataCheckReport: The counts, sizes, label histograms and problems.
    """
    start = time.perf_counter()
    if config_path is None:
        config_path = cfg if isinstance(cfg, str) else 'CONFIG'
    if isinstance(cfg, str):
        cfg = Config.fromfile(cfg)
    init_default_scope(cfg.get('default_scope', 'mmseg') or 'mmseg')
    reports = []
    for name, ds_cfg, loader_role in iter_dataset_cfgs(cfg):
        reports.append(
            check_dataset(name, ds_cfg, loader_role, decode, config_path))
    return DataCheckReport(config_path, decode, reports,
                           time.perf_counter() - start)


def check_dataset(name: str, ds_cfg: dict, loader_role: str = 'train',
                  decode: bool = False,
                  config_path: str = 'CONFIG') -> DatasetReport:
    """Check one dataset (a leaf of :func:`iter_dataset_cfgs`).

    Args:
        name (str): Where it sits in the config.
        ds_cfg (dict): Its config.
        loader_role (str): ``'train'`` or ``'val'``.
        decode (bool): Decode images, not only their headers.
        config_path (str): The config file, for the fixes.

    Returns:
        DatasetReport
    """
    from .folder_seg_dataset import FolderSegDataset
    from .unlabelled_dataset import UnlabelledDataset
    cls = _dataset_class(ds_cfg)
    type_name = cls.__name__ if cls is not None else str(ds_cfg.get('type'))
    if loader_role == 'val':
        role = 'validation'
    elif cls is not None and issubclass(cls, UnlabelledDataset):
        role = 'unlabelled'
    else:
        role = 'labelled'
    report = DatasetReport(name=name, type=type_name, role=role)
    severity = WARNING if role == 'unlabelled' else ERROR
    cfg = dict(ConfigDict(ds_cfg).to_dict() if isinstance(ds_cfg, ConfigDict)
               else ds_cfg)
    cfg['lazy_init'] = True
    try:
        dataset = DATASETS.build(cfg)
    except Exception as error:  # the dataset refuses its arguments
        report.problems.append(
            Problem('dataset', ERROR, name,
                    f'{type_name} cannot be built: {error}',
                    'fix the dataset config as the message says'))
        return report
    report.classes = tuple(dataset.metainfo.get('classes') or ())
    report.ignore_index = getattr(dataset, 'ignore_index', 255)
    num_classes = len(report.classes)
    report.class_pixels = np.zeros(num_classes, np.int64)
    report.class_maps = np.zeros(num_classes, np.int64)
    if isinstance(dataset, UnlabelledDataset):
        infos = _list_unlabelled(dataset, report)
    elif isinstance(dataset, FolderSegDataset):
        infos = _list_folder(dataset, report)
    else:
        infos = _list_built(dataset, report)
    if infos is None:
        return report
    label_lut = _label_transform(dataset)
    fix_colour = _colour_fix(config_path)
    for info in infos:
        img_path = info['img_path']
        img_size, reason = read_image_header(img_path, decode)
        if reason is not None:
            report.problems.append(
                Problem('unreadable', severity, img_path,
                        f'image {reason}', _unreadable_fix(role)))
        else:
            report.sizes[img_size] += 1
        seg_path = info.get('seg_map_path')
        if role == 'unlabelled' or not seg_path:
            continue
        _check_label(report, seg_path, img_path, img_size, label_lut,
                     fix_colour)
    return report


# --------------------------------------------------------------------------
# listing the files of a dataset
# --------------------------------------------------------------------------
def _walk(folder: str) -> List[str]:
    """Every file under ``folder``, relative to it, sorted."""
    out = []
    for root, _, files in os.walk(folder):
        rel = osp.relpath(root, folder)
        out.extend(name if rel == '.' else osp.join(rel, name)
                   for name in files)
    return sorted(out)


def _split_suffix(files: Sequence[str], suffix: str
                  ) -> Tuple[List[str], List[str], Counter]:
    """Stems of the files ending with ``suffix``, the files whose suffix
    differs from it only in case, and the suffixes of all other files."""
    stems, wrong_case, others = [], [], Counter()
    lower = suffix.lower()
    for rel in files:
        if rel.endswith(suffix):
            stems.append(rel[:len(rel) - len(suffix)])
        elif suffix and rel.lower().endswith(lower):
            wrong_case.append(rel)
        else:
            others[osp.splitext(rel)[1] or 'no suffix'] += 1
    return stems, wrong_case, others


def _suffix_case_problem(folder: str, rel: str, suffix: str,
                         severity: str, note: str) -> Problem:
    found = rel[len(rel) - len(suffix):]
    return Problem(
        'suffix-case', severity, osp.join(folder, rel),
        f'ends with {found!r}, the config reads {suffix!r} (case-'
        f'sensitive): {note}',
        f'rename it to end with {suffix!r}, or set the suffix to {found!r} '
        'if every file uses it')


def _list_unlabelled(dataset, report: DatasetReport) -> Optional[List[dict]]:
    img_dir = dataset.data_prefix.get('img_path', '')
    suffix = dataset.img_suffix
    if not osp.isdir(img_dir):
        report.problems.append(
            Problem('dataset', ERROR, img_dir, 'the image folder does not '
                    'exist', 'fix data_root / data_prefix["img_path"]'))
        return None
    stems, wrong_case, others = _split_suffix(_walk(img_dir), suffix)
    if dataset.ann_file:
        listed = _read_split_or_report(dataset.ann_file, report)
        if listed is None:
            return None
        infos = [dict(img_path=osp.join(img_dir, s + suffix)) for s in listed]
        missing = [i['img_path'] for i in infos
                   if not osp.isfile(i['img_path'])]
        for path in missing:
            report.problems.append(
                Problem('unreadable', ERROR, path,
                        f'listed in {dataset.ann_file!r} but missing (the '
                        'dataset refuses to build)',
                        'restore the file or remove it from the split file'))
        gone = set(missing)
        infos = [i for i in infos if i['img_path'] not in gone]
    else:
        infos = [dict(img_path=osp.join(img_dir, s + suffix)) for s in stems]
        for rel in wrong_case:
            report.problems.append(
                _suffix_case_problem(img_dir, rel, suffix, WARNING,
                                     'the image is not used'))
        if not infos:
            report.problems.append(
                Problem('dataset', ERROR, img_dir,
                        f'no image ending with {suffix!r} (the dataset '
                        'refuses to build)', 'set img_suffix'))
    report.folders[img_dir] = (len(infos), 'images', suffix)
    report.ignored = others
    return infos


def _list_folder(dataset, report: DatasetReport) -> Optional[List[dict]]:
    """FolderSegDataset's listing, with every problem reported instead of
    the first raised."""
    img_dir = dataset.data_prefix.get('img_path', '')
    seg_dir = dataset.data_prefix.get('seg_map_path', '')
    img_suffix, seg_suffix = dataset.img_suffix, dataset.seg_map_suffix
    for what, folder in (('image', img_dir), ('label', seg_dir)):
        if not osp.isdir(folder):
            report.problems.append(
                Problem('dataset', ERROR, folder,
                        f'the {what} folder does not exist',
                        'fix data_root / data_prefix'))
            return None
    img_stems, img_case, others = _split_suffix(_walk(img_dir), img_suffix)
    seg_stems, seg_case, _ = _split_suffix(_walk(seg_dir), seg_suffix)
    report.ignored = others
    if dataset.ann_file:
        listed = _read_split_or_report(dataset.ann_file, report)
        if listed is None:
            return None
    else:
        listed = img_stems
    img_set, seg_set = set(img_stems), set(seg_stems)
    case_imgs = {rel[:len(rel) - len(img_suffix)]: rel for rel in img_case}
    infos = []
    for stem in listed:
        img_path = osp.join(img_dir, stem + img_suffix)
        seg_path = osp.join(seg_dir, stem + seg_suffix)
        if stem not in img_set:
            report.problems.append(
                Problem('unreadable', ERROR, img_path,
                        f'listed in {dataset.ann_file!r} but missing',
                        'restore the image or remove it from the split'))
            continue
        if stem not in seg_set:
            report.problems.append(
                Problem('missing-label', ERROR, img_path,
                        f'has no label map {seg_path!r}',
                        'add the label map, or move the image to the '
                        'unlabelled folder'))
            continue
        infos.append(dict(img_path=img_path, seg_map_path=seg_path))
    if not dataset.ann_file:
        for stem in sorted(seg_set - img_set):
            seg_path = osp.join(seg_dir, stem + seg_suffix)
            if stem in case_imgs:
                report.problems.append(
                    _suffix_case_problem(
                        img_dir, case_imgs[stem], img_suffix, ERROR,
                        f'its label {seg_path!r} has no image, so the '
                        'dataset refuses to build'))
            else:
                report.problems.append(
                    Problem('missing-image', ERROR, seg_path,
                            f'has no image {stem + img_suffix!r} in '
                            f'{img_dir!r}',
                            'add the image, or remove the label map'))
        for stem, rel in sorted(case_imgs.items()):
            if stem not in seg_set:
                report.problems.append(
                    _suffix_case_problem(img_dir, rel, img_suffix, WARNING,
                                         'the image is not used'))
        if not img_stems:
            report.problems.append(
                Problem('dataset', ERROR, img_dir,
                        f'no image ending with {img_suffix!r}',
                        'set img_suffix'))
    for rel in seg_case:
        report.problems.append(
            _suffix_case_problem(seg_dir, rel, seg_suffix, WARNING,
                                 'the label map is not read'))
    report.folders[img_dir] = (len(infos), 'images', img_suffix)
    report.folders[seg_dir] = (len(infos), 'label maps', seg_suffix)
    return infos


def _list_built(dataset, report: DatasetReport) -> Optional[List[dict]]:
    """Any other dataset: its own ``load_data_list``."""
    try:
        dataset.full_init()
    except Exception as error:
        report.problems.append(
            Problem('dataset', ERROR, report.name,
                    f'{report.type} cannot list its files: {error}',
                    'fix the files or the dataset config as the message '
                    'says'))
        return None
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    for key, what, suffix in (('img_path', 'images', dataset.img_suffix),
                              ('seg_map_path', 'label maps',
                               dataset.seg_map_suffix)):
        folders = Counter(
            osp.dirname(i[key]) for i in infos if i.get(key))
        for folder, count in sorted(folders.items()):
            report.folders[folder] = (count, what, suffix)
    return infos


def _read_split_or_report(path: str,
                          report: DatasetReport) -> Optional[List[str]]:
    try:
        return read_split(path)
    except (OSError, ValueError) as error:
        report.problems.append(
            Problem('dataset', ERROR, path, str(error),
                    'fix the split file (tools/make_splits.py writes one)'))
        return None


# --------------------------------------------------------------------------
# reading files
# --------------------------------------------------------------------------
def read_image_header(path: str, decode: bool = False
                      ) -> Tuple[Optional[Tuple[int, int]], Optional[str]]:
    """The (height, width) of an image, or why it cannot be read.

    Args:
        path (str): The image file.
        decode (bool): Decode the whole image (finds truncated data), not
            only the header.

    Returns:
        tuple: ((height, width), None), or (None, reason).
    """
    try:
        if os.path.getsize(path) == 0:
            return None, 'is an empty file (0 bytes)'
        with Image.open(path) as img:
            size = (img.height, img.width)
            if decode:
                img.load()
    except FileNotFoundError:
        return None, 'is missing'
    except Exception as error:
        return None, (f'cannot be read ({type(error).__name__}: {error}); '
                      'truncated or not an image')
    return size, None


def _label_transform(dataset):
    """Raw label value -> train id, as ``LoadAnnotations`` maps it."""
    label_map = getattr(dataset, 'label_map', None) or {}
    reduce_zero = bool(getattr(dataset, 'reduce_zero_label', False))

    def transform(values: np.ndarray) -> np.ndarray:
        out = values.astype(np.int64)
        if reduce_zero:
            out = np.where(values == 0, 255, out - 1)
            out = np.where(out == 254, 255, out)
        if label_map:
            mapped = out.copy()
            for old, new in label_map.items():
                mapped[out == old] = new
            out = mapped
        return out

    return transform


def _colour_fix(config_path: str):
    def fix(seg_path: str, equal_channels: bool) -> str:
        if equal_channels:
            return ("its channels are equal: save one channel, e.g. "
                    "Image.open(path).convert('L').save(path)")
        folder = osp.dirname(seg_path)
        return (f'python tools/convert_color_masks.py {folder} '
                f'{folder}_index --palette {config_path} (the palette of '
                'the config; unknown colours become 255), then point '
                "data_prefix['seg_map_path'] at the new folder")

    return fix


def _check_label(report: DatasetReport, seg_path: str, img_path: str,
                 img_size: Optional[Tuple[int, int]], label_lut,
                 colour_fix) -> None:
    problems = report.problems
    try:
        if os.path.getsize(seg_path) == 0:
            raise ValueError('empty file (0 bytes)')
        with Image.open(seg_path) as img:
            bands = img.getbands()
            label = np.array(img)
    except FileNotFoundError:
        problems.append(
            Problem('missing-label', ERROR, img_path,
                    f'has no label map {seg_path!r}',
                    'add the label map, or move the image to the '
                    'unlabelled folder'))
        return
    except Exception as error:
        problems.append(
            Problem('unreadable', ERROR, seg_path,
                    f'label map cannot be read ({type(error).__name__}: '
                    f'{error})', _unreadable_fix('labelled')))
        return
    seg_size = label.shape[:2]
    if img_size is not None and tuple(seg_size) != tuple(img_size):
        problems.append(
            Problem('size-mismatch', ERROR, seg_path,
                    f'label map is {seg_size[0]}x{seg_size[1]}, its image '
                    f'{img_path!r} {img_size[0]}x{img_size[1]} (height x '
                    'width)',
                    'resize the label map to its image with nearest-'
                    'neighbour interpolation, or pair the right files'))
    if label.ndim == 3 or len(bands) > 1:
        equal = label.ndim == 3 and bool((label == label[..., :1]).all())
        problems.append(
            Problem('colour-mask', ERROR, seg_path,
                    f'label map has {len(bands)} channels (mode '
                    f'{"".join(bands)}): a colour mask, not one class '
                    'index per pixel', colour_fix(seg_path, equal)))
        return
    if label.dtype == bool:
        label = label.astype(np.uint8)
    values, counts = np.unique(label, return_counts=True)
    ids = label_lut(values)
    num_classes = len(report.classes)
    inside = (ids >= 0) & (ids < num_classes)
    np.add.at(report.class_pixels, ids[inside], counts[inside])
    report.class_maps[np.unique(ids[inside])] += 1
    is_ignore = ids == report.ignore_index
    report.ignore_pixels += int(counts[is_ignore].sum())
    bad = ~inside & ~is_ignore
    if bad.any():
        for value, count in zip(ids[bad].tolist(), counts[bad].tolist()):
            report.other_values[value] += count
        shown = ', '.join(f'{v} ({c} px)'
                          for v, c in zip(ids[bad].tolist(),
                                          counts[bad].tolist()))
        problems.append(
            Problem('label-values', ERROR, seg_path,
                    f'label map holds value(s) {shown} outside the '
                    f'{num_classes} classes (valid: 0..{num_classes - 1} '
                    f'and {report.ignore_index} = ignore)',
                    'relabel those pixels (255 to ignore them), or fix '
                    'classes in metainfo / label_map / reduce_zero_label'))


def _unreadable_fix(role: str) -> str:
    if role == 'unlabelled':
        return ('delete or replace it; training skips it and logs it '
                "(UnlabelledDataset, on_unreadable='skip')")
    return 'replace the file: training stops when it draws it'


# --------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------
def _format_sizes(sizes: Counter, limit: int = 3) -> str:
    if not sizes:
        return 'none read'
    common = ', '.join(f'{h}x{w} ({n})' for (h, w), n in
                       sizes.most_common(limit))
    if len(sizes) <= limit:
        return common
    heights = [h for h, _ in sizes]
    widths = [w for _, w in sizes]
    return (f'{common}, ... {len(sizes)} sizes, heights {min(heights)}..'
            f'{max(heights)}, widths {min(widths)}..{max(widths)}')


def format_report(report: DataCheckReport) -> str:
    """The text of a :class:`DataCheckReport`."""
    mode = 'images decoded' if report.decode else 'image headers'
    lines = [f'Data check of {report.config} ({mode}, label maps decoded)']
    for ds in report.datasets:
        lines.append(f'{ds.name}: {ds.type}, {ds.role}')
        for folder, (count, what, suffix) in ds.folders.items():
            lines.append(f'  {folder}: {count} {what} ({suffix})')
        if ds.ignored:
            other = ', '.join(f'{n} x {s!r}' for s, n in
                              ds.ignored.most_common(5))
            lines.append(f'  other files in the image folder, not read: '
                         f'{other}')
        if ds.sizes:
            lines.append('  image sizes (height x width): '
                         f'{_format_sizes(ds.sizes)}')
        if ds.role != 'unlabelled' and ds.class_pixels is not None and \
                ds.class_pixels.size:
            total = int(ds.class_pixels.sum()) + ds.ignore_pixels + sum(
                ds.other_values.values())
            lines.append('  label values: pixels (share), label maps '
                         'holding the value')
            width = max(len(c) for c in ds.classes)
            for i, name in enumerate(ds.classes):
                pixels = int(ds.class_pixels[i])
                lines.append(f'    {i:>3} {name:<{width}} {pixels:>12} '
                             f'({100 * pixels / max(total, 1):5.1f}%) '
                             f'{int(ds.class_maps[i]):>6}')
            lines.append(f'    {ds.ignore_index:>3} {"(ignore)":<{width}} '
                         f'{ds.ignore_pixels:>12} '
                         f'({100 * ds.ignore_pixels / max(total, 1):5.1f}%)')
            for value, pixels in sorted(ds.other_values.items()):
                lines.append(f'    {value:>3} {"(invalid)":<{width}} '
                             f'{pixels:>12} '
                             f'({100 * pixels / max(total, 1):5.1f}%)')
    errors, warnings = report.errors, report.warnings
    lines.append(f'{len(errors)} error(s), {len(warnings)} warning(s) '
                 f'({report.seconds:.1f} s)')
    for p in report.problems:
        lines.append(f'{p.severity.upper()} {p.kind}: {p.path}: {p.message}')
        lines.append(f'    fix: {p.fix}')
    return '\n'.join(lines)
