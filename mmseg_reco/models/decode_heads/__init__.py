from .representation_head import RepresentationHead

__all__ = ['RepresentationHead']
