from .cmb_head import CMBHead
from .region_head import RegionHead
from .representation_head import RepresentationHead

__all__ = ['CMBHead', 'RegionHead', 'RepresentationHead']
