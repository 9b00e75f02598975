import copy
import logging
import os.path as osp
from typing import Any, List, Optional

import mmengine
import mmengine.fileio as fileio
from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .folder_seg_dataset import suffix_hint
from .image_files import (UNREADABLE_KEY, decode_args, mark_unreadable,
                          raise_if_unreadable, redraw_index,
                          unreadable_reason)


@DATASETS.register_module()
class UnlabelledDataset(BaseSegDataset):
    """Images without labels, for the unlabelled branch of semi-supervised
    training.

    The images are either every file under ``data_prefix['img_path']`` that
    ends with ``img_suffix`` (searched recursively, sorted, as mmseg does) or
    the stems listed in ``ann_file`` (one per line; the image is
    ``<img_path>/<stem><img_suffix>``). Each data info holds ``img_path``, an
    empty ``seg_fields`` and ``unlabelled=True``; there is no
    ``seg_map_path``, so pipelines for this dataset have no
    ``LoadAnnotations``. ``data_prefix['seg_map_path']``, if given, is
    ignored.

    Class names and palette (used by visualisers and evaluators) can follow
    a labelled dataset: either pass ``metainfo=dict(classes=..., palette=...)``
    or name the registered labelled dataset in ``metainfo_from``, whose
    ``METAINFO`` is copied (keys in ``metainfo`` override it).

    Unreadable images: with ``on_unreadable='skip'`` (the default), an
    image that cannot be read (a missing, empty, truncated or non-image
    file) is not returned; another index, drawn deterministically from the
    failed index and the attempt (:func:`redraw_index`), is returned
    instead, and the paths skipped on the way are put in the data sample's
    meta information under :data:`UNREADABLE_KEY`. Since the sample
    travels from the data-loader worker to the main process with the
    batch, the count reaches the main process with any ``num_workers``
    (persistent or not): :class:`~mmseg_reco.engine.hooks.UnreadableImageHook`
    counts it there and logs the count and the first names at every log
    interval. Each worker also remembers the indices it found unreadable
    (no second decoding attempt) and warns once per file. The file is
    judged unreadable only when the pipeline fails *and* the file itself
    cannot be decoded (:func:`unreadable_reason`), so that a bug in a
    transform still raises. ``on_unreadable='raise'`` lets the first
    error through, as a plain mmseg dataset does.

    Example config::

        dict(type='UnlabelledDataset', data_root='data/fashion_canvas',
             data_prefix=dict(img_path='img_dir/train'),
             ann_file='splits/train_unlabelled.txt', img_suffix='.png',
             metainfo_from='FashionCanvasDataset', pipeline=[...])

    Args:
        ann_file (str): File of image stems, one per line, relative to
            ``data_root``; empty to list the image folder. Default: ''.
        img_suffix (str): Suffix of the images. Default: '.jpg'.
        metainfo (dict, optional): Meta information such as ``classes`` and
            ``palette``. Default: None.
        metainfo_from (str, optional): Type name of a registered dataset
            whose ``METAINFO`` is used as the base meta information, e.g.
            ``'FashionCanvasDataset'``. Default: None.
        data_prefix (dict): ``img_path``: the image folder, relative to
            ``data_root``. Default: dict(img_path='').
        on_unreadable (str): ``'skip'`` an unreadable image (draw another,
            count it) or ``'raise'`` the loading error. Default: 'skip'.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.

    Raises:
        FileNotFoundError: The image folder or ``ann_file`` does not exist,
            or a stem of ``ann_file`` has no image (the message names it).
        ValueError: No image is listed.
        KeyError: ``metainfo_from`` names no registered dataset.
        RuntimeError: (when an item is read) ``max_refetch`` + 1 draws in a
            row were unreadable; the message names the last files.
    """
    METAINFO: dict = dict()

    def __init__(self,
                 ann_file: str = '',
                 img_suffix: str = '.jpg',
                 metainfo: Optional[dict] = None,
                 metainfo_from: Optional[str] = None,
                 data_prefix: dict = dict(img_path=''),
                 on_unreadable: str = 'skip',
                 **kwargs) -> None:
        if on_unreadable not in ('skip', 'raise'):
            raise ValueError("on_unreadable must be 'skip' or 'raise', got "
                             f'{on_unreadable!r}')
        self.on_unreadable = on_unreadable
        # per process (each data-loader worker has its own): index -> reason
        self._unreadable: dict = {}
        if metainfo_from is not None:
            source = DATASETS.get(metainfo_from)
            if source is None:
                raise KeyError(f'metainfo_from={metainfo_from!r} is not a '
                               'registered dataset type')
            base = copy.deepcopy(dict(getattr(source, 'METAINFO', {})))
            base.update(metainfo or {})
            metainfo = base
        self.metainfo_from = metainfo_from
        super().__init__(
            ann_file=ann_file,
            img_suffix=img_suffix,
            metainfo=metainfo,
            data_prefix=data_prefix,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """List the unlabelled images.

        Returns:
            list[dict]: One dict per image with ``img_path``, ``seg_fields``
            (empty) and ``unlabelled`` (True).
        """
        img_dir = self.data_prefix.get('img_path', '')
        if not fileio.isdir(img_dir, backend_args=self.backend_args):
            raise FileNotFoundError(
                f'image folder {img_dir!r} of {type(self).__name__} does not '
                'exist (data_root + data_prefix["img_path"])')
        if self.ann_file:
            img_paths = self._paths_from_ann_file(img_dir)
        else:
            names = fileio.list_dir_or_file(
                dir_path=img_dir,
                list_dir=False,
                suffix=self.img_suffix,
                recursive=True,
                backend_args=self.backend_args)
            img_paths = [osp.join(img_dir, name) for name in sorted(names)]
            if not img_paths:
                raise ValueError(f'no images ending with '
                                 f'{self.img_suffix!r} in {img_dir!r}'
                                 f'{suffix_hint(img_dir)}')
        return [
            dict(img_path=path, seg_fields=[], unlabelled=True)
            for path in img_paths
        ]

    def _paths_from_ann_file(self, img_dir: str) -> List[str]:
        """Image paths of the stems listed in ``self.ann_file``."""
        if not fileio.exists(self.ann_file, backend_args=self.backend_args):
            raise FileNotFoundError(
                f'ann_file {self.ann_file!r} of {type(self).__name__} does '
                'not exist')
        stems = [
            line.strip() for line in mmengine.list_from_file(
                self.ann_file, backend_args=self.backend_args)
        ]
        stems = [stem for stem in stems if stem]
        if not stems:
            raise ValueError(f'ann_file {self.ann_file!r} lists no images')
        img_paths = [
            osp.join(img_dir, stem + self.img_suffix) for stem in stems
        ]
        missing = [
            path for path in img_paths
            if not fileio.exists(path, backend_args=self.backend_args)
        ]
        if missing:
            shown = ', '.join(missing[:5])
            more = f' and {len(missing) - 5} more' if len(missing) > 5 else ''
            raise FileNotFoundError(
                f'{len(missing)} image(s) listed in ann_file '
                f'{self.ann_file!r} do not exist: {shown}{more}')
        return img_paths

    def __getitem__(self, idx: int) -> Any:
        """The pipeline's output for image ``idx``, or, with
        ``on_unreadable='skip'``, for the first readable image of the
        deterministic redraws from ``idx``.

        Returns:
            dict: The pipeline's output; when images were skipped, its
            ``data_samples`` meta information lists them under
            :data:`UNREADABLE_KEY`.
        """
        if self.on_unreadable == 'raise' or self.test_mode:
            try:
                return super().__getitem__(idx)
            except Exception as error:
                raise_if_unreadable(self.get_data_info(idx), self.pipeline,
                                    self.backend_args, error)
                raise
        if not self._fully_initialized:
            self.full_init()
        skipped = []
        for attempt in range(self.max_refetch + 1):
            if idx in self._unreadable:
                data = None
            else:
                data = self._prepare_or_judge(idx)
            if idx in self._unreadable:
                skipped.append(self.get_data_info(idx)['img_path'])
                idx = redraw_index(idx, attempt, len(self))
                continue
            if data is None:  # a transform dropped it (mmengine's refetch)
                idx = redraw_index(idx, attempt, len(self))
                continue
            if skipped:
                mark_unreadable(data, skipped)
            return data
        raise RuntimeError(
            f'{self.max_refetch + 1} images drawn in a row from '
            f'{self.data_prefix.get("img_path")!r} could not be read or were '
            f'dropped by the pipeline; the last unreadable: '
            f'{skipped[-3:]}. Run tools/check_data.py on the config')

    def _prepare_or_judge(self, idx: int) -> Any:
        """``prepare_data(idx)``; on an error, record ``idx`` as unreadable
        when its file cannot be decoded, or raise the error."""
        try:
            return self.prepare_data(idx)
        except Exception:
            path = self.get_data_info(idx)['img_path']
            reason = unreadable_reason(path, decode_args(self.pipeline),
                                       self.backend_args)
            if reason is None:
                raise
            self._unreadable[idx] = reason
            print_log(
                f'skipping unreadable unlabelled image {path!r}: {reason}; '
                'another image is drawn in its place',
                logger='current',
                level=logging.WARNING)
            return None


__all__ = [
    'UnlabelledDataset', 'UNREADABLE_KEY', 'redraw_index', 'unreadable_reason',
    'mark_unreadable'
]
