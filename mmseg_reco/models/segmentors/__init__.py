from .s4gan_segmentor import S4GANSegmentor
from .semi_segmentor import SemiSegmentor

__all__ = ['S4GANSegmentor', 'SemiSegmentor']
