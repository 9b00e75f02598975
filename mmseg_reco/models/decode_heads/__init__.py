from .cmb_head import CMBHead
from .representation_head import RepresentationHead

__all__ = ['CMBHead', 'RepresentationHead']
