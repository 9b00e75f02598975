from .cmb_losses import (CMBContrastiveLoss, class_balance_weights,
                         cmb_contrastive_loss, prediction_entropy,
                         weighted_pseudo_ce)
from .confident_pseudo_ce_loss import (ConfidentPseudoCELoss,
                                       confident_pseudo_ce)
from .pseudo_label_loss import PseudoLabelCELoss, pseudo_label_ce
from .reco_loss import ReCoLoss, reco_loss

__all__ = [
    'CMBContrastiveLoss', 'class_balance_weights', 'cmb_contrastive_loss',
    'ConfidentPseudoCELoss', 'confident_pseudo_ce',
    'prediction_entropy', 'weighted_pseudo_ce', 'PseudoLabelCELoss',
    'pseudo_label_ce', 'ReCoLoss', 'reco_loss'
]
