"""Helpers over a decode head's raw training output.

A plain mmseg head returns the logits (N, K, h, w), :class:`RepresentationHead`
a tuple ``(logits, representation)`` and the region heads a dict that keeps
the logits under ``'seg_logits'``; these helpers treat the three alike.
"""
from typing import Any

import torch
from torch import Tensor


def head_logits(outputs: Any) -> Tensor:
    """Segmentation logits (N, K, h, w) from a head's raw training output."""
    if isinstance(outputs, Tensor):
        return outputs
    if isinstance(outputs, dict):
        return outputs['seg_logits']
    return outputs[0]


def batch_cat(first: Any, second: Any) -> Any:
    """Concatenate two (nested) head outputs along the batch axis."""
    if isinstance(first, Tensor):
        return torch.cat([first, second])
    if isinstance(first, dict):
        return {k: batch_cat(v, second[k]) for k, v in first.items()}
    if isinstance(first, (list, tuple)):
        return type(first)(batch_cat(a, b) for a, b in zip(first, second))
    return first


def batch_slice(outputs: Any, index: slice) -> Any:
    """Slice every tensor of a (nested) head output along the batch axis."""
    if isinstance(outputs, Tensor):
        return outputs[index]
    if isinstance(outputs, dict):
        return {k: batch_slice(v, index) for k, v in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return type(outputs)(batch_slice(v, index) for v in outputs)
    return outputs


def batch_detach(outputs: Any) -> Any:
    """Detach every tensor of a (nested) head output from the graph."""
    if isinstance(outputs, Tensor):
        return outputs.detach()
    if isinstance(outputs, dict):
        return {k: batch_detach(v) for k, v in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return type(outputs)(batch_detach(v) for v in outputs)
    return outputs
