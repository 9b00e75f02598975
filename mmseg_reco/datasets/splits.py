"""Split files as the datasets read them.

:class:`SplitFileMixin` gives an mmseg dataset a ``load_data_list`` that
reads a split file (:func:`read_split`) and checks that every listed image
and label exists (:func:`check_data_list`), so that a bad split fails when
the dataset is built, naming the split file.

A split file lists one image stem per line: the image is
``<img_dir>/<stem><img_suffix>`` and its label
``<seg_map_dir>/<stem><seg_map_suffix>``, as mmseg's ``ann_file`` reads it.
The offline protocols that write split files (which images are labelled,
partial labels) are in :mod:`mmseg_reco.datasets.split_protocols`.
"""
import os
import os.path as osp
from typing import List, Sequence


def read_split(path: str) -> List[str]:
    """Read a split file: one image stem per line, blank lines skipped.

    Args:
        path (str): The split file.

    Returns:
        list[str]: The stems in file order.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: The file lists no image, or lists one twice (the message
            names the file).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'split file {path!r} does not exist')
    with open(path) as f:
        stems = [line.strip() for line in f]
    stems = [stem for stem in stems if stem]
    if not stems:
        raise ValueError(f'split file {path!r} lists no images')
    if len(set(stems)) != len(stems):
        seen, dup = set(), []
        for stem in stems:
            if stem in seen:
                dup.append(stem)
            seen.add(stem)
        raise ValueError(f'split file {path!r} lists {len(dup)} image(s) '
                         f'twice: {_shorten(dup)}')
    return stems


def check_files_exist(paths: Sequence[str], source: str) -> None:
    """Raise if some listed files are missing.

    Args:
        paths (Sequence[str]): Files that must exist.
        source (str): What listed them (a split file), for the message.

    Raises:
        FileNotFoundError: Some files are missing; the message names
            ``source`` and the first missing files.
    """
    missing = [path for path in paths if not osp.isfile(path)]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} file(s) listed in {source} do not exist: '
            f'{_shorten(missing)}')


def check_data_list(data_list: Sequence[dict], source: str,
                    keys: Sequence[str] = ('img_path', 'seg_map_path')
                    ) -> None:
    """Check an mmseg data list: not empty, and every listed file exists.

    Datasets call this from ``load_data_list`` so that a split file naming
    images that are not on disk fails when the dataset is built, with a
    message naming the split file, instead of in a data-loader worker.

    Args:
        data_list (Sequence[dict]): mmseg data infos.
        source (str): The split file (or folder) they come from.
        keys (Sequence[str]): The path keys to check, where present.
            Default: ``('img_path', 'seg_map_path')``.

    Raises:
        ValueError: ``data_list`` is empty.
        FileNotFoundError: Some listed files are missing (named with
            ``source``).
    """
    if len(data_list) == 0:
        raise ValueError(f'{source} lists no images')
    for key in keys:
        paths = [info[key] for info in data_list if info.get(key)]
        check_files_exist(paths, f'{source} ({key})')


class SplitFileMixin:
    """``load_data_list`` for mmseg datasets that read a split file.

    Mixed in before an mmseg dataset class (``class D(SplitFileMixin,
    BaseSegDataset)``). With an ``ann_file``, the stems are read with
    :func:`read_split` (clear errors for a missing or empty file and for
    duplicates) and turned into data infos as mmseg does; without one, the
    dataset's own folder listing is used. Either way every listed image and
    label must exist (:func:`check_data_list`; local files), so that a bad
    split fails when the dataset is built, naming the split file.
    """

    def load_data_list(self) -> List[dict]:
        """Load the data infos and check their files.

        Returns:
            list[dict]: ``img_path``, ``seg_map_path`` (when the dataset has
            a label folder), ``label_map``, ``reduce_zero_label`` and
            ``seg_fields`` per image.
        """
        if not self.ann_file:
            data_list = super().load_data_list()
            check_data_list(
                data_list,
                f'image folder {self.data_prefix.get("img_path")!r}')
            return data_list
        img_dir = self.data_prefix.get('img_path', '')
        seg_dir = self.data_prefix.get('seg_map_path', None)
        data_list = []
        for stem in read_split(self.ann_file):
            info = dict(img_path=osp.join(img_dir, stem + self.img_suffix))
            if seg_dir is not None:
                info['seg_map_path'] = osp.join(seg_dir,
                                                stem + self.seg_map_suffix)
            info.update(label_map=self.label_map,
                        reduce_zero_label=self.reduce_zero_label,
                        seg_fields=[])
            data_list.append(info)
        check_data_list(data_list, f'ann_file {self.ann_file!r}')
        return data_list


def _shorten(items: Sequence[str], limit: int = 5) -> str:
    shown = ', '.join(repr(item) for item in items[:limit])
    more = len(items) - limit
    return shown + (f' and {more} more' if more > 0 else '')


__all__ = [
    'read_split', 'check_files_exist', 'check_data_list', 'SplitFileMixin',
    'list_stems'
]


def list_stems(img_dir: str, img_suffix: str) -> List[str]:
    """Stems of every file under ``img_dir`` ending with ``img_suffix``.

    Searched recursively (Cityscapes keeps a folder per city, so a stem may
    be ``'aachen/aachen_000000_000019'``) and sorted, as mmseg lists a
    folder.

    Raises:
        FileNotFoundError: ``img_dir`` does not exist.
        ValueError: No file ends with ``img_suffix``.
    """
    if not osp.isdir(img_dir):
        raise FileNotFoundError(f'image folder {img_dir!r} does not exist')
    stems = []
    for root, _, files in os.walk(img_dir):
        rel = osp.relpath(root, img_dir)
        for name in files:
            if name.endswith(img_suffix):
                stem = name[:len(name) - len(img_suffix)]
                stems.append(stem if rel == '.' else osp.join(rel, stem))
    if not stems:
        raise ValueError(f'no file ending with {img_suffix!r} in {img_dir!r}')
    return sorted(stems)
