"""Per-class loop reference of the ReCo loss (Eq. 1-4).

Written directly from the paper's equations with the structure of the
authors' ``compute_reco_loss`` (github.com/lorenmt/reco): a Python loop over
the present classes, boolean-mask indexing, a categorical draw of the
negative classes and a per-query loop drawing the negative pixels. It is
slow on purpose and serves as the ground truth that
:func:`mmseg_reco.models.losses.reco_loss.reco_loss` is checked and timed
against. The conventions (strict ``<`` threshold, division by the number
of present classes, ``graph_temperature``) are those documented in
``reco_loss``.

Indices are flat pixel indices into the (N, h, w) label map, so that the
reference can replay the exact samples drawn by the vectorised sampler.
"""
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ['reco_loss_reference', 'reco_relation_graph_reference']


def _valid_pixels(label: Tensor, valid_mask: Optional[Tensor],
                  num_classes: int, ignore_index: int) -> Tensor:
    """(P,) bool: pixels with a label in [0, C) that are not left out."""
    label = label.flatten().long()
    valid = (label != ignore_index) & (label >= 0) & (label < num_classes)
    if valid_mask is not None:
        valid = valid & valid_mask.flatten().bool()
    return valid


def _class_pixels(label: Tensor, valid: Tensor,
                  num_classes: int) -> Dict[int, Tensor]:
    """Flat indices of the valid pixels of every present class."""
    label = label.flatten().long()
    pixels = {}
    for c in range(num_classes):
        index = torch.nonzero(valid & (label == c)).squeeze(1)
        if len(index) > 0:
            pixels[c] = index
    return pixels


def _relation_row(protos: Dict[int,
                               Tensor], query_class: int, others: List[int],
                  relation_graph: bool, graph_temperature: float) -> Tensor:
    """Eq. 3 softmax over the negative classes ``others`` of one class."""
    if not relation_graph:
        return protos[query_class].new_full((len(others), ), 1.0 / len(others))
    sims = torch.stack([
        F.cosine_similarity(protos[query_class], protos[j], dim=0)
        for j in others
    ])
    return torch.softmax(sims / graph_temperature, dim=0)


@torch.no_grad()
def reco_relation_graph_reference(rep: Tensor,
                                  label: Tensor,
                                  valid_mask: Optional[Tensor] = None,
                                  *,
                                  num_classes: int,
                                  ignore_index: int = 255,
                                  relation_graph: bool = True,
                                  graph_temperature: float = 1.0) -> Tensor:
    """Negative-class sampling distribution of every query class.

    Args:
        rep (Tensor): (N, D, h, w) representations.
        label (Tensor): (N, h, w) labels.
        valid_mask (Tensor, optional): (N, h, w) bool extra validity.
        num_classes (int): C.
        ignore_index (int): label value to leave out. Default: 255.
        relation_graph (bool): Eq. 3 graph; False gives uniform rows.
        graph_temperature (float): softmax temperature. Default: 1.0.

    Returns:
        Tensor: (C, C) float32; row c is the distribution over negative
        classes for query class c (zero at c itself and at absent classes),
        all zero when c is absent or no other class is present.
    """
    dim = rep.shape[1]
    feats = rep.float().permute(0, 2, 3, 1).reshape(-1, dim)
    valid = _valid_pixels(label, valid_mask, num_classes, ignore_index)
    pixels = _class_pixels(label, valid, num_classes)
    protos = {c: feats[index].mean(dim=0) for c, index in pixels.items()}
    graph = feats.new_zeros(num_classes, num_classes)
    present = sorted(pixels)
    for c in present:
        others = [j for j in present if j != c]
        if not others:
            continue
        row = _relation_row(protos, c, others, relation_graph,
                            graph_temperature)
        for j, p in zip(others, row):
            graph[c, j] = p
    return graph


def reco_loss_reference(rep: Tensor,
                        label: Tensor,
                        prob: Tensor,
                        valid_mask: Optional[Tensor] = None,
                        *,
                        ignore_index: int = 255,
                        strong_threshold: float = 0.97,
                        temperature: float = 0.5,
                        num_queries: int = 256,
                        num_negatives: int = 512,
                        hard_query: bool = True,
                        relation_graph: bool = True,
                        graph_temperature: float = 1.0,
                        samples=None,
                        generator: Optional[torch.Generator] = None) -> Tensor:
    """ReCo loss by a loop over classes (and over queries when sampling).

    Args:
        rep (Tensor): (N, D, h, w) representations.
        label (Tensor): (N, h, w) labels at the resolution of ``rep``.
        prob (Tensor): (N, C, h, w) softmax probabilities.
        valid_mask (Tensor, optional): (N, h, w) bool extra validity.
        ignore_index, strong_threshold, temperature, num_queries,
        num_negatives, hard_query, relation_graph, graph_temperature: as in
            ``reco_loss``.
        samples (optional): an object with ``query_index`` (C, Q) and
            ``negative_index`` (C, Q, K) flat pixel indices (e.g. a
            ``ReCoSamples``); when given, these are used instead of drawing
            queries and keys, so the loss can be compared under fixed
            sampling. Default: None.
        generator (torch.Generator, optional): random source on the device
            of ``rep``. Default: None.

    Returns:
        Tensor: scalar float32 loss; ``rep.sum() * 0`` with fewer than two
        present classes.
    """
    num_classes = prob.shape[1]
    dim = rep.shape[1]
    feats = rep.float().permute(0, 2, 3, 1).reshape(-1, dim)
    class_prob = prob.detach().float().permute(0, 2, 3,
                                               1).reshape(-1, num_classes)
    valid = _valid_pixels(label, valid_mask, num_classes, ignore_index)
    pixels = _class_pixels(label, valid, num_classes)
    present = sorted(pixels)
    if len(present) < 2:
        return rep.sum() * 0.0

    # Eq. 2: prototypes, constants (section 3.3).
    with torch.no_grad():
        protos = {c: feats[pixels[c]].mean(dim=0) for c in present}

    loss = feats.new_zeros(())
    for c in present:
        # Eq. 4: hard queries of class c.
        if hard_query:
            hard = pixels[c][class_prob[pixels[c], c] < strong_threshold]
        else:
            hard = pixels[c]
        if len(hard) == 0:
            continue
        with torch.no_grad():
            if samples is not None:
                query_index = samples.query_index[c].to(rep.device)
                negative_index = samples.negative_index[c].to(rep.device)
            else:
                pick = torch.randint(
                    len(hard), (num_queries, ),
                    generator=generator,
                    device=rep.device)
                query_index = hard[pick]
                # Eq. 3: class relation graph, then per-query key draws.
                others = [j for j in present if j != c]
                row = _relation_row(protos, c, others, relation_graph,
                                    graph_temperature)
                drawn = torch.multinomial(
                    row,
                    num_queries * num_negatives,
                    replacement=True,
                    generator=generator).view(num_queries, num_negatives)
                per_class = torch.stack([(drawn == j).sum(dim=1)
                                         for j in range(len(others))],
                                        dim=1)
                negative_list = []
                for i in range(num_queries):
                    for j, other in enumerate(others):
                        pool = pixels[other]
                        pick = torch.randint(
                            len(pool), (int(per_class[i, j]), ),
                            generator=generator,
                            device=rep.device)
                        negative_list.append(pool[pick])
                negative_index = torch.cat(negative_list).view(
                    num_queries, num_negatives)
            negative_keys = feats[negative_index]
            positive_key = protos[c].expand(len(query_index), 1, dim)
            keys = torch.cat([positive_key, negative_keys], dim=1)

        anchors = feats[query_index]
        logits = F.cosine_similarity(anchors.unsqueeze(1), keys, dim=2)
        target = torch.zeros(
            len(query_index), dtype=torch.long, device=rep.device)
        loss = loss + F.cross_entropy(logits / temperature, target)
    return loss / len(present)
