"""Offline dataset converters: raw downloads -> the layouts the datasets read.

One module per dataset, each with a ``convert()`` function (and the
per-image ``convert_one()`` it maps over worker processes):

* :mod:`.voc_aug`: SBD labels merged into Pascal VOC 2012
  (``tools/convert_voc_aug.py``).
* :mod:`.cityscapes`: Cityscapes train ids, downsampled to 512x1024
  (``tools/convert_cityscapes.py``).
* :mod:`.sunrgbd`: SUN RGB-D in ReCo's re-split at 384x512
  (``tools/convert_sunrgbd.py``).
* :mod:`.gta5`: GTA5 labels as Cityscapes train ids
  (``tools/convert_gta5.py``).

Pure numpy/Pillow (scipy and OpenCV for VOC); nothing here is registered,
so :mod:`mmseg_reco.datasets` does not import this package: import the
module of the dataset you convert.
"""
