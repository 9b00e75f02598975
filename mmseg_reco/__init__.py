"""mmseg_reco: label-efficient semantic segmentation for MMSegmentation 1.x.

Importing the package registers every component in mmseg's registries
(``custom_imports=dict(imports=['mmseg_reco'])`` in a config does it) and
allow-lists the classes of mmengine checkpoints for ``torch.load``'s
``weights_only`` default.
"""
from .utils import register_safe_globals

register_safe_globals()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__version__ = '0.1.0'
