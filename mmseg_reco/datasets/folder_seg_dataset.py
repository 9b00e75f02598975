"""Labelled images of your own: a folder of images and a folder of labels."""
import os
import os.path as osp
from collections import Counter
from typing import List

from mmseg.datasets import BaseSegDataset
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import DATASETS

from .image_files import raise_if_unreadable
from .splits import SplitFileMixin, _shorten, list_stems
from .transforms import CheckSegLabels


@DATASETS.register_module()
class FolderSegDataset(SplitFileMixin, BaseSegDataset):
    """A folder of images with a folder of label maps; classes from the
    config.

    The labelled side of training on your own data (docs/custom_data.md).
    The unlabelled side is an :class:`UnlabelledDataset` on a bare image
    folder with the same ``metainfo``; the two go into the
    ``ConcatDataset`` that :class:`LabelledUnlabelledSampler` draws from
    (``configs/_base_/datasets/semi_folder.py``).

    Layout (every name set in the config)::

        <data_root>/<img_path>/<stem><img_suffix>          e.g. a/b.jpg
        <data_root>/<seg_map_path>/<stem><seg_map_suffix>  e.g. a/b.png

    Sub-folders are searched; ``<stem>`` may hold them. A label map is a
    single-channel PNG (grey or palette) of class ids ``0..C-1``, with
    ``ignore_index`` (255) for pixels without a class; ``C`` is
    ``len(metainfo['classes'])``. With ``ann_file`` (a split file of
    ``tools/make_splits.py``) only the listed stems are used.

    Checks, each raising with the file named:

    - when the dataset is built: ``metainfo`` names the classes; the image
      folder holds images ending with ``img_suffix``; every image has its
      label map (an image without one raises, instead of being skipped)
      and every label map its image (images with another suffix would
      otherwise be left out unseen);
      with ``check_sizes``, each label has its image's height and width,
      read from the file headers (no decoding: 0.3 ms per pair measured);
    - when a label is loaded, with ``check_labels``: its ids lie in
      ``[0, C)`` or equal ``ignore_index`` (and its size matches the
      loaded image, unless a transform such as a test-time ``Resize``
      precedes ``LoadAnnotations``). Reading every label to check its ids
      when the dataset is built would decode the whole label folder at
      every start, so this check runs in the data-loader workers instead: a
      :class:`CheckSegLabels` with ``num_classes=C`` is inserted right
      after ``LoadAnnotations`` unless the pipeline already has one, which
      must then agree with ``C``. The pipeline thus never needs its own
      copy of the class count. A label map with channels (a colour mask)
      is refused there too, with the conversion to run;
    - when an image or label map cannot be read (missing, empty,
      truncated, not an image): an ``OSError`` naming it. Labelled files
      are never skipped (unlabelled images are, by
      :class:`UnlabelledDataset`).

    Example config::

        dict(type='FolderSegDataset', data_root='data/my_data',
             data_prefix=dict(img_path='train/images',
                              seg_map_path='train/labels'),
             img_suffix='.jpg', seg_map_suffix='.png',
             metainfo=dict(classes=('background', 'cat', 'dog'),
                           palette=[[0, 0, 0], [200, 0, 0], [0, 200, 0]]),
             pipeline=[...])

    Args:
        img_suffix (str): Suffix of the images. Default: '.jpg'.
        seg_map_suffix (str): Suffix of the label maps. Default: '.png'.
        check_sizes (bool): Compare every image's size with its label's
            when the dataset is built. Default: True.
        check_labels (bool): Check each label's ids (and size) when it is
            loaded, as described above. Default: True.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`;
            ``metainfo=dict(classes=..., palette=...)`` is required.

    Raises:
        ValueError: ``metainfo`` has no classes; no image in the folder; a
            label's size differs from its image's; the pipeline's own
            ``CheckSegLabels`` has another class count.
        FileNotFoundError: The image or label folder is missing, images
            have no label map or label maps no image (the first few are
            named).
    """
    METAINFO: dict = dict()

    def __init__(self,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 check_sizes: bool = True,
                 check_labels: bool = True,
                 **kwargs) -> None:
        metainfo = kwargs.get('metainfo') or {}
        if not metainfo.get('classes'):
            raise ValueError(
                f'{type(self).__name__} needs its class names in the config: '
                "metainfo=dict(classes=('background', ...), palette=[[0, 0, "
                '0], ...]); the label maps hold their indices')
        self.check_sizes = check_sizes
        self.check_labels = check_labels
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)
        if check_labels:
            self._add_label_check()

    def prepare_data(self, idx: int):
        """The pipeline's output for ``idx``; an unreadable image or label
        map raises an ``OSError`` that names it."""
        try:
            return super().prepare_data(idx)
        except Exception as error:
            raise_if_unreadable(self.get_data_info(idx), self.pipeline,
                                self.backend_args, error)
            raise

    @property
    def num_classes(self) -> int:
        """Number of classes C, ``len(metainfo['classes'])``."""
        return len(self._metainfo['classes'])

    def load_data_list(self) -> List[dict]:
        """List the images and their label maps, and check them.

        Returns:
            list[dict]: ``img_path``, ``seg_map_path``, ``label_map``,
            ``reduce_zero_label`` and ``seg_fields`` per image, sorted by
            stem (or in ``ann_file`` order).
        """
        img_dir = self.data_prefix.get('img_path', '')
        seg_dir = self.data_prefix.get('seg_map_path', '')
        for name, folder in (('image', img_dir), ('label', seg_dir)):
            if not osp.isdir(folder):
                raise FileNotFoundError(
                    f'{name} folder {folder!r} of {type(self).__name__} does '
                    'not exist (data_root + data_prefix)')
        if self.ann_file:
            # SplitFileMixin: stems from the split file, files checked
            data_list = super().load_data_list()
        else:
            data_list = [
                dict(
                    img_path=osp.join(img_dir, stem + self.img_suffix),
                    seg_map_path=osp.join(seg_dir,
                                          stem + self.seg_map_suffix),
                    label_map=self.label_map,
                    reduce_zero_label=self.reduce_zero_label,
                    seg_fields=[])
                for stem in self._list_images(img_dir)
            ]
            self._check_labels_exist(data_list, img_dir, seg_dir)
            self._check_images_exist(data_list, img_dir, seg_dir)
        if self.check_sizes:
            check_sizes_match(data_list)
        return data_list

    def _list_images(self, img_dir: str) -> List[str]:
        try:
            return list_stems(img_dir, self.img_suffix)
        except ValueError:
            raise ValueError(
                f'no image ending with {self.img_suffix!r} in {img_dir!r}'
                f'{suffix_hint(img_dir)}') from None

    def _check_labels_exist(self, data_list: List[dict], img_dir: str,
                            seg_dir: str) -> None:
        missing = [
            info for info in data_list if not osp.isfile(info['seg_map_path'])
        ]
        if missing:
            pairs = [
                f'{info["img_path"]} (no {info["seg_map_path"]})'
                for info in missing
            ]
            raise FileNotFoundError(
                f'{len(missing)} of the {len(data_list)} images in '
                f'{img_dir!r} have no label map in {seg_dir!r}: '
                f'{_shorten(pairs, 3)}. Every image of the labelled folder '
                f'needs <stem>{self.seg_map_suffix} in the label folder; '
                'put images without labels in the unlabelled folder')

    def _check_images_exist(self, data_list: List[dict], img_dir: str,
                            seg_dir: str) -> None:
        """A label without its image means images were skipped (another
        suffix, such as '.JPG' for '.jpg') or a file was lost."""
        listed = {info['seg_map_path'] for info in data_list}
        orphans = [
            osp.join(seg_dir, stem + self.seg_map_suffix)
            for stem in list_stems(seg_dir, self.seg_map_suffix)
            if osp.join(seg_dir, stem + self.seg_map_suffix) not in listed
        ]
        if orphans:
            raise FileNotFoundError(
                f'{len(orphans)} label map(s) in {seg_dir!r} have no image '
                f'ending with {self.img_suffix!r} in {img_dir!r}: '
                f'{_shorten(orphans, 3)}; check img_suffix (it is '
                'case-sensitive) or remove the labels')

    def _add_label_check(self) -> None:
        """Insert ``CheckSegLabels(num_classes=C)`` after
        ``LoadAnnotations``, or check the pipeline's own."""
        transforms = self.pipeline.transforms
        checks = [t for t in transforms if isinstance(t, CheckSegLabels)]
        for check in checks:
            if check.num_classes != self.num_classes:
                raise ValueError(
                    f'the pipeline checks labels against {check.num_classes}'
                    f' classes, but metainfo names {self.num_classes}: '
                    f'{tuple(self._metainfo["classes"])}; drop the '
                    f'pipeline\'s CheckSegLabels ({type(self).__name__} '
                    'inserts one) or fix its num_classes')
        loads = [
            i for i, t in enumerate(transforms)
            if isinstance(t, LoadAnnotations)
        ]
        if loads and not checks:
            # a transform other than a loader before LoadAnnotations (a
            # test-time Resize) changes the image's size but not the label's
            loaded_as_stored = all(
                type(t).__name__.startswith('Load')
                for t in transforms[:loads[0]])
            transforms.insert(
                loads[0] + 1,
                CheckSegLabels(
                    num_classes=self.num_classes,
                    ignore_index=self.ignore_index,
                    check_size=loaded_as_stored))


def check_sizes_match(data_list: List[dict]) -> None:
    """Raise if a label map's size differs from its image's.

    Reads only the file headers (Pillow opens lazily).

    Args:
        data_list (list[dict]): Data infos with ``img_path`` and
            ``seg_map_path``.

    Raises:
        ValueError: Sizes differ; the message names the first pairs and
            their sizes (height x width).
    """
    from PIL import Image
    bad = []
    for info in data_list:
        with Image.open(info['img_path']) as img:
            img_size = img.size
        with Image.open(info['seg_map_path']) as seg:
            seg_size = seg.size
        if img_size != seg_size:
            bad.append(f'{info["seg_map_path"]} is {seg_size[1]}x'
                       f'{seg_size[0]}, its image {info["img_path"]} '
                       f'{img_size[1]}x{img_size[0]}')
    if bad:
        raise ValueError(
            f'{len(bad)} label map(s) differ in size from their image '
            f'(height x width): {_shorten(bad, 3)}')


def suffix_hint(folder: str, limit: int = 3) -> str:
    """The commonest file suffixes under ``folder``, as a hint for an error
    message (``''`` when ``folder`` is not a local folder)."""
    if not osp.isdir(folder):
        return ''
    counts: Counter = Counter()
    for _, _, files in os.walk(folder):
        counts.update(osp.splitext(name)[1] for name in files)
    if not counts:
        return ' (the folder is empty)'
    found = ', '.join(f'{n} x {suffix or "no suffix"!r}'
                      for suffix, n in counts.most_common(limit))
    return f' (it holds {found}: set img_suffix)'
