from .s4gan_discriminator import S4GANDiscriminator

__all__ = ['S4GANDiscriminator']
