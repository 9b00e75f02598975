import copy
import os.path as osp
from typing import List, Optional

import mmengine
import mmengine.fileio as fileio
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .folder_seg_dataset import suffix_hint


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
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.

    Raises:
        FileNotFoundError: The image folder or ``ann_file`` does not exist,
            or a stem of ``ann_file`` has no image (the message names it).
        ValueError: No image is listed.
        KeyError: ``metainfo_from`` names no registered dataset.
    """
    METAINFO: dict = dict()

    def __init__(self,
                 ann_file: str = '',
                 img_suffix: str = '.jpg',
                 metainfo: Optional[dict] = None,
                 metainfo_from: Optional[str] = None,
                 data_prefix: dict = dict(img_path=''),
                 **kwargs) -> None:
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
