"""Plain reference implementations used by the tests and benchmarks."""
from .reco_reference import reco_loss_reference, reco_relation_graph_reference

__all__ = ['reco_loss_reference', 'reco_relation_graph_reference']
