"""Method terms of :class:`SemiSegmentor` (``method_losses``): modules that
take a :class:`MethodContext` (the student's outputs, the batch record, the
student and teacher they may run, the ramp-up), may own state (the memory
bank), and compute a method's unsupervised losses from the pure losses of
``models/losses``."""
from .cmb_term import CMBTerm
from .feature_perturbation_term import FeaturePerturbationTerm
from .method_context import MethodContext
from .rc2l_term import RC2LTerm
from .reco_term import ReCoTerm
from .weak_to_strong_term import WeakToStrongTerm

__all__ = [
    'CMBTerm', 'FeaturePerturbationTerm', 'MethodContext', 'RC2LTerm',
    'ReCoTerm', 'WeakToStrongTerm'
]
