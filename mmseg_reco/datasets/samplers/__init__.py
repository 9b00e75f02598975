from .semi_sampler import LabelledUnlabelledSampler

__all__ = ['LabelledUnlabelledSampler']
