"""The naming rule of the project's leaf configs.

``{method}_{model}_{gpus}xb{batch}-{schedule}_{dataset}-{split}.py``, in
mmseg's style (``deeplabv3plus_r50-d8_4xb2-40k_cityscapes-512x1024.py``):

- ``method``: ``supervised``, ``cutout``, ``cutmix``, ``classmix``,
  ``reco-classmix``, ``reco-sup``, ``s4gan``, ``cmb``, ``rc2l``,
  ``fixmatch``, ``unimatch``, ``reco-fixmatch``, ``reco-unimatch``, ...;
- ``model``: the segmentor and backbone, ``deeplabv3plus-r101-d8``
  (``-rep``: with ReCo's representation head), ``region-r101``;
- ``gpus`` x ``batch``: GPUs and labelled images per GPU per step (a
  semi-supervised step adds as many unlabelled images);
- ``schedule``: iterations, ``40k`` (= ``train_cfg.max_iters``);
- ``dataset``: ``voc12aug``, ``voc12`` (the 1,464 VOC train images),
  ``cityscapes``, ``sunrgbd``, ``gta5-cityscapes``, ``fashion-canvas``;
- ``split``: ``60lab`` (60 labelled images, class-balanced), ``1of8`` (a
  ratio), ``p1px`` / ``p1pct`` (partial labels: pixels per class or a share
  of the pixels), ``full`` (every label).
"""
import re
from typing import Dict, Optional

__all__ = ['CONFIG_NAME_RULE', 'parse_config_name', 'schedule_iters']

#: the rule as a regular expression over a file name
CONFIG_NAME_RULE = re.compile(
    r'^(?P<method>[a-z0-9]+(?:-[a-z0-9]+)*)'
    r'_(?P<model>[a-z0-9]+(?:-[a-z0-9]+)*)'
    r'_(?P<gpus>\d+)xb(?P<batch>\d+)-(?P<schedule>\d+k?)'
    r'_(?P<dataset>[a-z0-9]+(?:-[a-z0-9]+)*)'
    r'-(?P<split>\d+lab|\d+of\d+|p\d+px|p\d+pct|full)\.py$')


def parse_config_name(name: str) -> Optional[Dict[str, str]]:
    """The fields of a leaf config's file name, or None if it breaks the
    rule."""
    match = CONFIG_NAME_RULE.match(name)
    return match.groupdict() if match else None


def schedule_iters(schedule: str) -> int:
    """``'40k'`` -> 40000, ``'800'`` -> 800."""
    return int(schedule[:-1]) * 1000 if schedule.endswith('k') else int(
        schedule)
