"""Walk a trained segmentor over its validation set.

Shared by the analysis tools (``tools/analysis/``), which load the model
with mmseg's ``mmseg.apis.init_model`` (a plain ``EncoderDecoder`` or a
``SemiSegmentor``): the evaluated network inside it, pixel embeddings of
the two kinds ReCo visualises, and batches of the validation set.
"""
from typing import Iterator, List, Optional, Tuple

import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from torch import Tensor

#: Embeddings the relation graph can be computed on (ReCo section 5):
#: ``'rep'`` is R, the representation head's output (ReCo's R, the memory
#: bank's projection Z); ``'feat'`` is the feature the classifier reads
#: (ReCo's Z, the decoder's last feature).
EMBEDDINGS = ('rep', 'feat')


def evaluated_model(model: nn.Module) -> nn.Module:
    """The network that validation runs: ``model.eval_model`` if the model
    has one (``SemiSegmentor``: the teacher or the student, per
    ``semi_test_cfg``), else the model."""
    return getattr(model, 'eval_model', model)


def build_val_dataset(cfg: Config):
    """The validation dataset of a config (its test pipeline)."""
    from mmseg.registry import DATASETS
    return DATASETS.build(cfg.val_dataloader.dataset)


def iter_batches(dataset,
                 indices: Optional[List[int]] = None,
                 batch_size: int = 1) -> Iterator[dict]:
    """Collated batches (``inputs``, ``data_samples``) of dataset items.

    Args:
        dataset: an mmseg dataset with its test pipeline.
        indices (list[int], optional): items to take. Default: all.
        batch_size (int): items per batch. Default: 1.

    Yields:
        dict: ``pseudo_collate`` of the items.
    """
    indices = list(range(len(dataset))) if indices is None else indices
    for start in range(0, len(indices), batch_size):
        yield pseudo_collate(
            [dataset[i] for i in indices[start:start + batch_size]])


def _inner_head(head: nn.Module) -> nn.Module:
    """The mmseg decode head inside a wrapping head (RepresentationHead)."""
    return getattr(head, 'decode_head', head)


def pixel_embeddings(segmentor: nn.Module, inputs: Tensor,
                     embedding: str = 'rep') -> Tensor:
    """Pixel embeddings of a batch from an mmseg ``EncoderDecoder``.

    Args:
        segmentor (nn.Module): the evaluated network (see
            :func:`evaluated_model`), in eval mode.
        inputs (Tensor): (N, 3, H, W) preprocessed images.
        embedding (str): ``'rep'``: the representation branch, run as in
            training (``decode_head.forward_train``: a ``RepresentationHead``
            returns ``(logits, rep)``, a head of the memory-bank method a
            dict with ``proj``) with batch norms in eval mode; ``'feat'``:
            the input of the classifier ``conv_seg`` (after dropout, which
            is off in eval mode), or for a mask-classification head whose
            ``forward`` returns a dict with ``mask_features`` (the RC2L
            ``RegionHead``) those per-pixel features, which the mask
            embeddings of the queries are multiplied with. Default:
            ``'rep'``.

    Returns:
        Tensor: (N, D, h, w) embeddings.
    """
    if embedding not in EMBEDDINGS:
        raise ValueError(f'embedding must be one of {EMBEDDINGS}, got '
                         f'{embedding!r}')
    head = segmentor.decode_head
    feats = segmentor.extract_feat(inputs)
    if embedding == 'rep':
        if not hasattr(head, 'forward_train'):
            raise ValueError(
                f'{type(head).__name__} has no representation branch '
                "(forward_train); use embedding='feat' or a model with a "
                'RepresentationHead / CMBHead')
        outputs = head.forward_train(feats)
        if isinstance(outputs, dict):
            for key in ('proj', 'rep'):
                if key in outputs:
                    return outputs[key]
            raise ValueError(
                f'{type(head).__name__}.forward_train returned the keys '
                f"{sorted(outputs)}; expected 'proj' (projections) or 'rep'")
        if isinstance(outputs, (tuple, list)) and len(outputs) >= 2:
            return outputs[1]
        raise ValueError(
            f'{type(head).__name__}.forward_train returned '
            f'{type(outputs).__name__}; expected (logits, rep) or a dict with '
            "'proj'")
    inner = _inner_head(head)
    conv_seg = getattr(inner, 'conv_seg', None)
    if conv_seg is None:
        outputs = head.forward(feats)
        if isinstance(outputs, dict) and 'mask_features' in outputs:
            return outputs['mask_features']
        raise ValueError(
            f'{type(inner).__name__} has no conv_seg classifier and its '
            "forward returns no 'mask_features'; embedding='feat' needs an "
            'mmseg BaseDecodeHead or a mask-classification head')
    captured: List[Tensor] = []
    handle = conv_seg.register_forward_pre_hook(
        lambda module, args: captured.append(args[0]))
    try:
        head.forward(feats)
    finally:
        handle.remove()
    if len(captured) != 1:
        raise ValueError(
            f'the classifier conv_seg of {type(inner).__name__} ran '
            f"{len(captured)} times in one forward; embedding='feat' needs "
            'a head that calls it once')
    return captured[0]


def valid_region(feat_size: Tuple[int, int], batch_size: Tuple[int, int],
                 img_shape: Tuple[int, int]) -> Tuple[int, int]:
    """Rows and columns of a feature map that cover the unpadded image.

    Args:
        feat_size (tuple[int, int]): (h, w) of the feature map.
        batch_size (tuple[int, int]): (H, W) of the padded batch input.
        img_shape (tuple[int, int]): (H', W') of the image before padding.

    Returns:
        tuple[int, int]: the number of rows and columns to keep.
    """
    rows = -(-img_shape[0] * feat_size[0] // batch_size[0])
    cols = -(-img_shape[1] * feat_size[1] // batch_size[1])
    return min(rows, feat_size[0]), min(cols, feat_size[1])
