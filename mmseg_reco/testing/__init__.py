"""Reference implementations, memory probes and tiny model configs used by
the tests and benchmarks."""
from .cmb_reference import (bank_push_reference,
                            cmb_contrastive_loss_reference,
                            topk_per_image_class_reference)
from .reco_reference import reco_loss_reference, reco_relation_graph_reference

__all__ = [
    'bank_push_reference', 'cmb_contrastive_loss_reference',
    'topk_per_image_class_reference', 'reco_loss_reference',
    'reco_relation_graph_reference'
]
