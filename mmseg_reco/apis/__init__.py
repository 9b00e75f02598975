"""Using trained models outside this package (plain mmseg export)."""
from .export import export_model, plain_segmentor_cfg, plain_state_dict

__all__ = ['export_model', 'plain_segmentor_cfg', 'plain_state_dict']
