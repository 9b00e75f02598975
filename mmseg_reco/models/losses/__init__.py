from .cmb_loss import (CMBLoss, class_balance_weights, cmb_contrastive_loss,
                       prediction_entropy, weighted_pseudo_ce)
from .rc2l_loss import RC2LLoss
from .pseudo_label_loss import PseudoLabelCELoss, pseudo_label_ce
from .reco_loss import ReCoLoss, reco_loss
from .reco_semi_loss import ReCoSemiLoss

__all__ = [
    'CMBLoss', 'class_balance_weights', 'cmb_contrastive_loss',
    'prediction_entropy', 'weighted_pseudo_ce', 'PseudoLabelCELoss',
    'pseudo_label_ce', 'RC2LLoss', 'ReCoLoss', 'reco_loss', 'ReCoSemiLoss'
]
