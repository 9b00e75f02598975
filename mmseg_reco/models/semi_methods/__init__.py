"""Method terms of :class:`SemiSegmentor` (``method_losses``): modules that
take the segmentor, its outputs and the batch, may run the teacher and own
state (the memory bank), and compute a method's unsupervised losses from the
pure losses of ``models/losses``."""
from .cmb_term import CMBTerm
from .feature_perturbation_term import FeaturePerturbationTerm
from .rc2l_term import RC2LTerm
from .reco_term import ReCoTerm
from .weak_to_strong_term import WeakToStrongTerm, confident_pseudo_ce

__all__ = [
    'CMBTerm', 'FeaturePerturbationTerm', 'RC2LTerm', 'ReCoTerm',
    'WeakToStrongTerm', 'confident_pseudo_ce'
]
