"""Loss dicts of a step: renamed and reweighted (mmdet's semi helpers)."""
from typing import Dict, Union

from torch import Tensor

LossDict = Dict[str, Union[Tensor, float]]


def rename_loss_dict(prefix: str, losses: LossDict) -> LossDict:
    """Prefix every key, e.g. ``loss_ce`` -> ``sup_loss_ce``."""
    return {prefix + key: value for key, value in losses.items()}


def reweight_loss_dict(losses: LossDict, weight: float) -> LossDict:
    """Multiply the entries whose key names a loss by ``weight``.

    Statistics (keys without ``loss``) are left as they are; a weight of 1
    returns ``losses`` itself.
    """
    if weight == 1:
        return losses
    return {k: v * weight if 'loss' in k else v for k, v in losses.items()}
