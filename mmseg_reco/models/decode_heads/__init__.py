from .cmb_head import CMBHead
from .deeplabv2_head import DeepLabV2Head
from .region_head import RegionHead
from .representation_head import RepresentationHead

__all__ = ['CMBHead', 'DeepLabV2Head', 'RegionHead', 'RepresentationHead']
