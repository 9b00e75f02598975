from .pseudo_label_loss import PseudoLabelCELoss, pseudo_label_ce
from .reco_loss import ReCoLoss, reco_loss
from .reco_semi_loss import ReCoSemiLoss

__all__ = [
    'PseudoLabelCELoss', 'pseudo_label_ce', 'ReCoLoss', 'reco_loss',
    'ReCoSemiLoss'
]
