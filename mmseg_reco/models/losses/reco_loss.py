"""Regional contrastive (ReCo) loss, vectorised over classes and queries.

Implements Eq. 1-4 of `ReCo: Bootstrapping Semantic Segmentation with
Regional Contrast <https://arxiv.org/abs/2104.04465>`_ (Liu et al.). The
module :class:`ReCoLoss` is added to the total as in Eq. 5 (supervised) or
Eq. 6 (semi-supervised).

Call flow::

    reco_loss(rep, label, prob, valid_mask)
      -> _flatten_labels        class index and own-class probability per pixel
      -> _class_prototypes      Eq. 2, per-class mean representation (no grad)
      -> _sample_indices        Eq. 4 hard queries, Eq. 3 relation graph,
                                negative keys (no grad, fixed shapes)
      -> _GatheredDot           query . negative-key dot products without
                                building the (C, Q, K, D) keys
      -> InfoNCE                Eq. 1, mean over queries, sum over classes,
                                divided by the number of present classes
"""
import warnings
from typing import Dict, NamedTuple, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

__all__ = ['ReCoSamples', 'sample_reco_indices', 'reco_loss', 'ReCoLoss']

#: Guard of the L2 normalisation; the value ``F.cosine_similarity`` uses.
_NORM_EPS = 1e-8


class ReCoSamples(NamedTuple):
    """Indices drawn by the ReCo sampler, as flat pixel indices.

    A flat pixel index ``p`` addresses pixel ``(p // (h*w), p % (h*w))`` of
    the (N, h, w) label map, i.e. ``label.flatten()[p]``.

    Attributes:
        query_index (Tensor): (C, Q) long, the queries of each class.
        negative_index (Tensor): (C, Q, K) long, the negative keys of each
            query.
        query_valid (Tensor): (C,) bool, whether class ``c`` contributes a
            term: it is present, has at least one hard pixel, and at least
            two classes are present. Rows of invalid classes hold
            placeholder indices that must not be read.
        class_present (Tensor): (C,) bool, classes with at least one valid
            pixel (the set :math:`\\mathcal{C}` of Eq. 1).
        negative_prob (Tensor): (C, C) float32, the distribution negative
            classes are drawn from for each query class (the soft-maxed
            relation graph of Eq. 3, or uniform over the other present
            classes without the relation graph). Rows of invalid classes
            are placeholders.
    """
    query_index: Tensor
    negative_index: Tensor
    query_valid: Tensor
    class_present: Tensor
    negative_prob: Tensor


def _flatten_labels(label: Tensor, prob: Tensor, valid_mask: Optional[Tensor],
                    ignore_index: int) -> Tuple[Tensor, Tensor]:
    """Class index (C for left-out pixels) and own-class probability.

    Args:
        label (Tensor): (N, h, w) integer labels.
        prob (Tensor): (N, C, h, w) softmax probabilities.
        valid_mask (Tensor | None): (N, h, w) bool extra validity.
        ignore_index (int): label value that is left out.

    Returns:
        tuple[Tensor, Tensor]: ``lab`` (P,) long with values in [0, C], C
        marking a left-out pixel, and ``own_prob`` (P,) float32, the
        probability of the pixel's own class (0 at left-out pixels).
    """
    num_classes = prob.shape[1]
    label = label.long()
    valid = (label != ignore_index) & (label >= 0) & (label < num_classes)
    if valid_mask is not None:
        valid = valid & valid_mask.bool()
    safe = torch.where(valid, label, torch.zeros_like(label))
    own_prob = prob.detach().gather(1, safe.unsqueeze(1)).squeeze(1).float()
    lab = torch.where(valid, label, torch.full_like(label, num_classes))
    own_prob = torch.where(valid, own_prob, torch.zeros_like(own_prob))
    return lab.flatten(), own_prob.flatten()


def _class_prototypes(table: Tensor, lab: Tensor, num_classes: int) -> Tensor:
    """Eq. 2: mean representation of each class's valid pixels.

    Args:
        table (Tensor): (P, D) float32 pixel representations (not
            normalised).
        lab (Tensor): (P,) long class index, ``num_classes`` = left out.
        num_classes (int): C.

    Returns:
        Tensor: prototypes (C, D) float32 (zero for absent classes).
    """
    sums = table.new_zeros(num_classes + 1, table.shape[1])
    sums.index_add_(0, lab, table)
    counts = torch.zeros(
        num_classes + 1, dtype=torch.long,
        device=lab.device).scatter_add_(0, lab, torch.ones_like(lab))
    return sums[:num_classes] / counts[:num_classes].clamp(
        min=1).unsqueeze(1).to(sums.dtype)


def _uniform_index(block: Tensor, start: Tensor, count: Tensor, u: Tensor,
                   order: Tensor) -> Tensor:
    """Uniform draws inside blocks of a sorted pixel order.

    Picks ``order[start[block] + floor(u * count[block])]`` for every
    element, with every position kept in range.

    Args:
        block (Tensor): (R, S) long, the block of each draw.
        start (Tensor): (B,) long, first sorted position of each block.
        count (Tensor): (B,) long, block lengths (0 gives a placeholder).
        u (Tensor): (R, S) float32 uniform [0, 1) draws.
        order (Tensor): (P,) long, pixel indices sorted by block.

    Returns:
        Tensor: (R, S) long flat pixel indices.
    """
    flat = block.reshape(-1)
    length = count.index_select(0, flat)
    offset = (u.reshape(-1) * length.to(u.dtype)).long()
    # float rounding can give u * count == count; stay inside the block.
    offset = torch.minimum(offset, (length - 1).clamp_(min=0))
    position = offset.add_(start.index_select(0, flat))
    position = position.clamp_(max=order.shape[0] - 1)
    return order.index_select(0, position).view(block.shape)


def _categorical(prob: Tensor, num_draws: int,
                 generator: Optional[torch.Generator]) -> Tensor:
    """Inverse-CDF draws from each row of a categorical distribution.

    Args:
        prob (Tensor): (R, C) float32 rows with positive sums.
        num_draws (int): draws per row, with replacement.
        generator (torch.Generator, optional): random source.

    Returns:
        Tensor: (R, num_draws) long class indices; a zero-probability class
        is never drawn.
    """
    cdf = torch.cumsum(prob, dim=1)
    u = torch.rand(
        prob.shape[0], num_draws, generator=generator, device=prob.device)
    drawn = torch.searchsorted(cdf, u * cdf[:, -1:], right=True)
    # u * total can round up to total: fall back on the row's last class
    # of positive probability.
    num_classes = prob.shape[1]
    last = num_classes - 1 - torch.argmax(
        (prob.flip(1) > 0).to(torch.uint8), dim=1, keepdim=True)
    return torch.where(drawn >= num_classes, last, drawn)


def _sample_indices(lab: Tensor, own_prob: Tensor, protos: Tensor, *,
                    strong_threshold: float, num_queries: int,
                    num_negatives: int, hard_query: bool, relation_graph: bool,
                    graph_temperature: float,
                    generator: Optional[torch.Generator]) -> ReCoSamples:
    """Draw queries (Eq. 4) and negative keys (Eq. 3) with fixed shapes.

    Pixels are sorted once by ``2 * class + is_easy`` so that the valid
    pixels of class c form one contiguous block of the sorted order, its
    hard pixels first. Uniform draws inside a block are then
    ``start + floor(u * length)``: no per-class loop, no dynamic shape.
    """
    num_classes = protos.shape[0]
    device = lab.device
    valid = lab < num_classes
    if hard_query:
        hard = valid & (own_prob < strong_threshold)
    else:
        hard = valid
    # Bucket 2c holds the hard pixels of class c, 2c + 1 its easy ones;
    # left-out pixels fall in bucket 2C or 2C + 1. A stable sort of these
    # small integers is a radix sort.
    sorted_key, order = torch.sort(lab * 2 + (~hard).long(), stable=True)
    bounds = torch.searchsorted(
        sorted_key, torch.arange(2 * num_classes + 1, device=device))
    start = bounds[0:-1:2]
    hard_counts = bounds[1::2] - start
    counts = bounds[2::2] - start

    present = counts > 0
    enough_classes = present.sum() >= 2
    query_valid = (hard_counts > 0) & enough_classes

    # Eq. 4: queries uniformly with replacement among the hard pixels.
    u = torch.rand(
        num_classes, num_queries, generator=generator, device=device)
    query_block = torch.arange(
        num_classes, device=device)[:, None].expand(-1, num_queries)
    query_index = _uniform_index(query_block, start, hard_counts, u, order)

    # Eq. 3: relation graph over the other present classes.
    allowed = present[None, :] & present[:, None] & ~torch.eye(
        num_classes, dtype=torch.bool, device=device)
    if relation_graph:
        unit = F.normalize(protos, dim=1, eps=_NORM_EPS)
        logits = (unit @ unit.t()) / graph_temperature
    else:
        logits = protos.new_zeros(num_classes, num_classes)
    logits = logits.masked_fill(~allowed, float('-inf'))
    # Rows without any allowed class get a placeholder uniform row so that
    # the sampler stays valid; those classes carry no term.
    row_ok = allowed.any(dim=1, keepdim=True)
    logits = torch.where(row_ok, logits, torch.zeros_like(logits))
    negative_prob = torch.softmax(logits, dim=1)

    num_draws = num_queries * num_negatives
    negative_class = _categorical(negative_prob, num_draws, generator)
    u = torch.rand(num_classes, num_draws, generator=generator, device=device)
    negative_index = _uniform_index(negative_class, start, counts, u, order)
    return ReCoSamples(
        query_index=query_index,
        negative_index=negative_index.view(num_classes, num_queries,
                                           num_negatives),
        query_valid=query_valid,
        class_present=present,
        negative_prob=negative_prob)


def _pixel_table(rep: Tensor) -> Tensor:
    """(N, D, h, w) -> detached float32 (N*h*w, D) copy, pixel-major."""
    num, dim, height, width = rep.shape
    table = torch.empty(
        num, height, width, dim, dtype=torch.float32, device=rep.device)
    table.copy_(rep.detach().permute(0, 2, 3, 1))
    return table.view(-1, dim)


def _check_inputs(rep: Tensor, label: Tensor, prob: Tensor,
                  valid_mask: Optional[Tensor]) -> None:
    assert rep.dim() == 4, f'rep must be (N, D, h, w), got {rep.shape}'
    assert not label.is_floating_point(), 'label must hold integers'
    num, _, height, width = rep.shape
    assert label.shape == (num, height, width), (
        f'label must be (N, h, w) = {(num, height, width)} at the '
        f'representation resolution, got {tuple(label.shape)}')
    assert prob.dim() == 4 and prob.shape[0] == num and prob.shape[2:] == (
        height, width), (f'prob must be (N, C, h, w), got {tuple(prob.shape)}')
    if valid_mask is not None:
        assert valid_mask.shape == label.shape, (
            f'valid_mask must be (N, h, w), got {tuple(valid_mask.shape)}')


@torch.no_grad()
def sample_reco_indices(rep: Tensor,
                        label: Tensor,
                        prob: Tensor,
                        valid_mask: Optional[Tensor] = None,
                        *,
                        ignore_index: int = 255,
                        strong_threshold: float = 0.97,
                        num_queries: int = 256,
                        num_negatives: int = 512,
                        hard_query: bool = True,
                        relation_graph: bool = True,
                        graph_temperature: float = 1.0,
                        generator: Optional[torch.Generator] = None
                        ) -> ReCoSamples:
    """Draw the ReCo queries and negative keys without computing the loss.

    :func:`reco_loss` draws the same indices from the same generator state;
    this function exposes them, e.g. to feed them to a reference
    implementation. Arguments are those of :func:`reco_loss`.

    Returns:
        ReCoSamples: flat pixel indices, see :class:`ReCoSamples`.
    """
    _check_inputs(rep, label, prob, valid_mask)
    with torch.autocast(device_type=rep.device.type, enabled=False):
        table = _pixel_table(rep)
        lab, own_prob = _flatten_labels(label, prob, valid_mask, ignore_index)
        protos = _class_prototypes(table, lab, prob.shape[1])
        return _sample_indices(
            lab,
            own_prob,
            protos,
            strong_threshold=strong_threshold,
            num_queries=num_queries,
            num_negatives=num_negatives,
            hard_query=hard_query,
            relation_graph=relation_graph,
            graph_temperature=graph_temperature,
            generator=generator)


class _GatheredDot(torch.autograd.Function):
    """``out[b, k] = query[b] . table[index[b, k]]``, memory-bounded.

    No gradient flows to ``table`` (the negative keys are constants,
    section 3.3), and nothing of size (B, K, D) is ever built. Two
    implementations give the same result:

    * ``'sorted'`` (used on CPU): the (query, key) pairs are sorted by key
      pixel once. The forward is a sampled dense-dense matrix product,
      ``table @ query.T`` evaluated only at the (index[b, k], b) entries of
      that CSR pattern; the backward, ``grad_query[b] = sum_k g[b, k] *
      table[index[b, k]]``, is a sparse-dense product over the same sorted
      pairs. Both read every table row once, in order, while the small
      query matrix stays in cache, instead of one random table row per
      pair.
    * ``'gather'`` (used on other devices): the forward gathers the keys of
      ``chunk_size`` queries at a time into one reused buffer and reduces
      them with a batched matrix-vector product; the backward is one
      ``embedding_bag``.
    * ``'dense'`` (used when the table is small, see
      :func:`_default_dot_method`): every query against every pixel,
      ``query @ table.T`` (B, P), then a gather of the sampled entries; the
      backward scatters the gradient into (B, P) and multiplies by the
      table. More multiply-adds than the sampled forms (B P D instead of
      B K D) but two dense matrix products, which is faster while P is a
      small multiple of K.
    """

    @staticmethod
    def forward(ctx, query: Tensor, table: Tensor, index: Tensor,
                chunk_size: int, method: str) -> Tensor:
        ctx.method = method
        if method == 'dense':
            ctx.save_for_backward(table, index)
            return (query @ table.t()).gather(1, index)
        if method == 'sorted':
            pairs, perm = _sort_pairs(index, table.shape[0])
            ctx.save_for_backward(table, pairs, perm)
            ctx.num_rows = index.shape[0]
            return _sorted_dot(query, table, pairs, perm, index.shape)
        assert method == 'gather', f'unknown method {method!r}'
        ctx.save_for_backward(table, index)
        num_rows, num_keys = index.shape
        dim = table.shape[1]
        out = query.new_empty(num_rows, num_keys)
        rows = min(chunk_size, num_rows)
        buffer = table.new_empty(rows * num_keys, dim)
        for begin in range(0, num_rows, rows):
            end = min(begin + rows, num_rows)
            keys = torch.index_select(
                table,
                0,
                index[begin:end].reshape(-1),
                out=buffer[:(end - begin) * num_keys])
            torch.bmm(
                keys.view(end - begin, num_keys, dim),
                query[begin:end].unsqueeze(2),
                out=out[begin:end].unsqueeze(2))
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        grad_out = grad_out.contiguous()
        if ctx.method == 'dense':
            table, index = ctx.saved_tensors
            grad_sim = grad_out.new_zeros(index.shape[0], table.shape[0])
            grad_sim.scatter_add_(1, index, grad_out)
            return grad_sim @ table.to(grad_sim.dtype), None, None, None, None
        if ctx.method == 'sorted':
            table, pairs, perm = ctx.saved_tensors
            weights = grad_out.reshape(-1).index_select(0, perm)
            # The kernel walks the pairs in the given (pixel) order and
            # accumulates duplicates, so the pattern is left uncoalesced.
            pattern = torch.sparse_coo_tensor(
                pairs,
                weights.to(table.dtype),
                size=(ctx.num_rows, table.shape[0]),
                check_invariants=False)
            grad_query = torch.sparse.mm(pattern, table)
        else:
            table, index = ctx.saved_tensors
            grad_query = F.embedding_bag(
                index,
                table,
                mode='sum',
                per_sample_weights=grad_out.to(table.dtype))
        return grad_query, None, None, None, None


def _sort_pairs(index: Tensor, num_pixels: int) -> Tuple[Tensor, Tensor]:
    """Sort the (row, pixel) pairs of ``index`` (B, K) by pixel.

    Returns:
        tuple[Tensor, Tensor]: ``pairs`` (2, B*K) long, the query row and
        the pixel of each pair in pixel order, and ``perm`` (B*K,) long,
        the flat position in ``index`` of each sorted pair.
    """
    flat = index.reshape(-1)
    # A stable sort of integers is a radix sort; 32-bit keys halve it.
    key = flat.int() if num_pixels < 2**31 else flat
    sorted_pixel, perm = torch.sort(key, stable=True)
    pairs = torch.stack([
        torch.div(perm, index.shape[1], rounding_mode='floor'),
        sorted_pixel.long()
    ])
    return pairs, perm


def _sorted_dot(query: Tensor, table: Tensor, pairs: Tensor, perm: Tensor,
                shape: torch.Size) -> Tensor:
    """Dot products of the sorted pairs by a sampled matmul -> (B, K)."""
    num_pixels = table.shape[0]
    crow = torch.searchsorted(
        pairs[1], torch.arange(num_pixels + 1, device=pairs.device))
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='Sparse CSR tensor support')
        pattern = torch.sparse_csr_tensor(
            crow,
            pairs[0],
            query.new_zeros(pairs.shape[1]),
            size=(num_pixels, shape[0]),
            check_invariants=False)
        values = torch.sparse.sampled_addmm(
            pattern, table, query.t(), beta=0.0).values()
    out = torch.empty_like(values).index_copy_(0, perm, values)
    return out.view(shape)


#: ``'dense'`` while the table has at most this many pixels per key ...
_DENSE_PIXELS_PER_KEY = 4
#: ... and the (queries, pixels) similarity matrix fits in this many bytes.
_DENSE_MAX_BYTES = 256 * 2**20


def _default_dot_method(device: torch.device, num_pixels: int,
                        num_keys: int, num_rows: int) -> str:
    """``'dense'`` for a small table, else ``'sorted'`` on CPU and
    ``'gather'`` elsewhere.

    The dense form computes ``num_pixels / num_keys`` times the sampled
    multiply-adds with two matrix products; on CPU it is faster up to about
    4 pixels per key (demo scale: 2,048 pixels, 512 keys: 0.041 s against
    0.111 s for 2,816 queries, D = 256, forward and backward), slower from
    about 8 (0.201 s against 0.112 s at 8,192 pixels).
    """
    if (num_pixels <= _DENSE_PIXELS_PER_KEY * num_keys
            and num_rows * num_pixels * 4 <= _DENSE_MAX_BYTES):
        return 'dense'
    # The sampled product keeps at most one entry per (pixel, query) cell,
    # so it needs at least as many pixels as keys per query.
    if device.type == 'cpu' and num_keys <= num_pixels:
        return 'sorted'
    return 'gather'


def reco_loss(rep: Tensor,
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
              chunk_size: int = 256,
              generator: Optional[torch.Generator] = None,
              samples: Optional[ReCoSamples] = None
              ) -> Tuple[Tensor, Dict[str, Tensor]]:
    """ReCo pixel contrastive loss (Eq. 1-4), vectorised.

    For every class c present in the batch (the set :math:`\\mathcal{C}`),
    ``num_queries`` queries are drawn with replacement among the class's
    hard pixels (Eq. 4); each query is contrasted against the class
    prototype (Eq. 2, positive key) and ``num_negatives`` negative keys.
    A negative key is drawn by picking a class from the relation graph
    (Eq. 3) over the other present classes, then a uniformly random valid
    pixel of that class. Similarities are cosine similarities divided by
    ``temperature``; the InfoNCE term of Eq. 1 is averaged over a class's
    queries, summed over classes and divided by the number of present
    classes.

    Differences between the paper and the authors' code
    (github.com/lorenmt/reco, ``compute_reco_loss``), and the choice made:

    * Eq. 1 sums over queries and classes; the code averages over queries
      and divides the class sum by the number of present classes
      :math:`|\\mathcal{C}|`, including classes that contribute no term
      because they have no hard pixel. The code's normalisation is used
      (it makes ``loss_weight`` independent of ``num_queries``).
    * Eq. 3 soft-maxes the raw cosine similarities between prototypes; the
      code divides them by the contrastive temperature first. Default is
      Eq. 3 (``graph_temperature=1.0``); ``graph_temperature=0.5``
      reproduces the code (a sharper graph: weights within
      :math:`e^{\\pm 4}` instead of :math:`e^{\\pm 2}`).
    * Eq. 4 calls a query hard when its confidence is ``<= delta_s``; the
      code uses ``<``. The code's strict ``<`` is used (they differ only at
      probabilities exactly equal to the threshold).

    Only the queries carry gradients; prototypes and negative keys are
    constants (section 3.3), and ``prob`` is only used to select queries.
    The computation runs in float32 with autocast disabled, whatever the
    dtype of ``rep`` and ``prob``. There is no host synchronisation and no
    Python loop over classes or queries, and the (C, Q, K, D) tensor of
    negative keys (2.8 GB at the paper's settings) is never built: when
    the batch has at most 4 pixels per negative key (small crops), every
    query is compared with every pixel in one matrix product (at most 256 MB)
    and the sampled entries gathered; otherwise, on CPU the query-key dot
    products are one sampled sparse matrix product, and on other devices
    the keys of ``chunk_size`` queries at a time are gathered into one
    reused buffer of ``chunk_size * num_negatives * D * 4`` bytes (134 MB at
    the defaults with D = 256), with an ``embedding_bag`` backward (see
    :class:`_GatheredDot`). Beyond that, the loss holds a float32 copy of the
    representation (N * h * w * D * 4 bytes, 134 MB for 20 images of
    81 x 81) and a few (C, Q, K) index tensors (22 MB each for C = 21).

    Under DDP every statistic (prototypes, relation graph, present classes,
    the divisor) is computed per rank from the rank's own mini-batch, as in
    the authors' single-GPU code; gradients are averaged by DDP as usual.

    Args:
        rep (Tensor): (N, D, h, w) pixel representations, any float dtype.
        label (Tensor): (N, h, w) integer labels (ground truth or pseudo
            labels) at the resolution of ``rep`` (downsample with nearest).
            Pixels equal to ``ignore_index`` or outside [0, C) are left
            out.
        prob (Tensor): (N, C, h, w) the student's softmax probabilities at
            the resolution of ``rep``. ``strong_threshold`` is compared
            with the probability of each pixel's own class (not the
            maximum probability).
        valid_mask (Tensor, optional): (N, h, w) bool extra validity, e.g.
            pseudo-label confidence >= delta_w = 0.7 on unlabelled images.
            False pixels are left out of queries, prototypes and keys.
            Default: None (all pixels valid).
        ignore_index (int): label value to leave out. Default: 255.
        strong_threshold (float): delta_s of Eq. 4, a softmax probability;
            pixels whose own-class probability is below it are hard.
            Default: 0.97 (appendix A).
        temperature (float): tau of Eq. 1. Default: 0.5.
        num_queries (int): queries per class. Default: 256.
        num_negatives (int): negative keys per query. Default: 512.
        hard_query (bool): sample queries among hard pixels (Eq. 4); False
            samples them among all valid pixels of the class (ablation,
            Table 4). Default: True.
        relation_graph (bool): draw negative classes from the relation
            graph (Eq. 3); False draws them uniformly among the other
            present classes (ablation, Table 4). Default: True.
        graph_temperature (float): temperature of the relation-graph
            softmax; 1.0 is Eq. 3, the authors' code uses ``temperature``.
            Default: 1.0.
        chunk_size (int): queries whose negative keys are gathered at once
            in the forward pass. Default: 256.
        generator (torch.Generator, optional): random source on the device
            of ``rep``. Default: None (global generator).
        samples (ReCoSamples, optional): indices from
            :func:`sample_reco_indices` to use instead of drawing new ones.
            Default: None.

    Returns:
        tuple[Tensor, dict[str, Tensor]]: the scalar float32 loss (0 with a
        gradient path to ``rep`` when fewer than two classes are present or
        no class has a hard pixel), and detached float32 scalars
        ``num_queries`` (queries that contributed a term) and
        ``num_classes`` (present classes, the divisor).
    """
    _check_inputs(rep, label, prob, valid_mask)
    assert num_queries > 0 and num_negatives > 0 and chunk_size > 0
    num, dim, height, width = rep.shape
    num_classes = prob.shape[1]
    with torch.autocast(device_type=rep.device.type, enabled=False):
        with torch.no_grad():
            table = _pixel_table(rep)
            lab, own_prob = _flatten_labels(label, prob, valid_mask,
                                            ignore_index)
            protos = _class_prototypes(table, lab, num_classes)
            if samples is None:
                samples = _sample_indices(
                    lab,
                    own_prob,
                    protos,
                    strong_threshold=strong_threshold,
                    num_queries=num_queries,
                    num_negatives=num_negatives,
                    hard_query=hard_query,
                    relation_graph=relation_graph,
                    graph_temperature=graph_temperature,
                    generator=generator)
            # In-place normalisation: ``table`` is a private copy.
            table.div_(table.norm(dim=1, keepdim=True).clamp_(min=_NORM_EPS))
            unit_protos = F.normalize(protos, dim=1, eps=_NORM_EPS)

        q_classes, q_count = samples.query_index.shape
        k_count = samples.negative_index.shape[2]
        flat_query = samples.query_index.reshape(-1)
        image_index = torch.div(
            flat_query, height * width, rounding_mode='floor')
        pixel_index = flat_query - image_index * (height * width)
        # (C*Q, D): gathered before the float32 cast, so that a half
        # precision ``rep`` is not copied whole.
        queries = rep.flatten(2)[image_index, :, pixel_index].float()
        queries = F.normalize(queries, dim=1, eps=_NORM_EPS)

        positive = (queries.view(q_classes, q_count, dim) *
                    unit_protos.unsqueeze(1)).sum(dim=2).reshape(-1, 1)
        negative = _GatheredDot.apply(
            queries, table,
            samples.negative_index.reshape(-1, k_count), chunk_size,
            _default_dot_method(rep.device, table.shape[0], k_count,
                                queries.shape[0]))
        logits = torch.cat([positive, negative], dim=1) / temperature
        per_query = torch.logsumexp(logits, dim=1) - logits[:, 0]
        per_class = per_query.view(q_classes, q_count).mean(dim=1)
        per_class = torch.where(samples.query_valid, per_class,
                                torch.zeros_like(per_class))
        num_present = samples.class_present.sum()
        loss = per_class.sum() / num_present.clamp(min=1).float()

    stats = dict(
        num_queries=(samples.query_valid.sum() * q_count).float(),
        num_classes=num_present.float())
    return loss, stats


@MODELS.register_module()
class ReCoLoss(nn.Module):
    """ReCo loss module (Eq. 1-4), added to the total as in Eq. 5 / Eq. 6.

    See :func:`reco_loss` for the definition, the shapes, the choices where
    the paper and the authors' code differ, AMP and DDP behaviour.

    ``forward`` returns a dict with the same three keys on every rank and
    every step, also when the batch holds fewer than two classes:
    ``loss_name`` (the weighted loss, summed into the total by mmengine's
    ``parse_losses``), and two logged statistics without ``loss`` in their
    names, ``<name>_num_queries`` and ``<name>_num_classes``, where
    ``<name>`` is ``loss_name`` without its ``loss_`` prefix (per-rank
    values, see :func:`reco_loss`).

    Args:
        loss_weight (float): weight of the loss. Default: 1.0.
        loss_name (str): key of the loss; must start with ``loss_``.
            Default: 'loss_reco'.
        ignore_index (int): label value to leave out. Default: 255.
        strong_threshold (float): delta_s, own-class softmax probability
            below which a pixel is a hard query. Default: 0.97.
        temperature (float): tau of Eq. 1. Default: 0.5.
        num_queries (int): queries per class. Default: 256.
        num_negatives (int): negative keys per query. Default: 512.
        hard_query (bool): Eq. 4 hard-query sampling. Default: True.
        relation_graph (bool): Eq. 3 negative-class sampling. Default: True.
        graph_temperature (float): relation-graph softmax temperature, 1.0
            as in Eq. 3 (the authors' code uses 0.5). Default: 1.0.
        chunk_size (int): queries per gather chunk (memory bound).
            Default: 256.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_reco',
                 ignore_index: int = 255,
                 strong_threshold: float = 0.97,
                 temperature: float = 0.5,
                 num_queries: int = 256,
                 num_negatives: int = 512,
                 hard_query: bool = True,
                 relation_graph: bool = True,
                 graph_temperature: float = 1.0,
                 chunk_size: int = 256) -> None:
        super().__init__()
        assert loss_name.startswith('loss_'), (
            f'loss_name must start with "loss_", got {loss_name!r}')
        stat_prefix = loss_name[len('loss_'):]
        assert stat_prefix and 'loss' not in stat_prefix, (
            'the statistics are named after loss_name without "loss_"; '
            f'that part must not contain "loss", got {loss_name!r}')
        assert 0.0 < strong_threshold <= 1.0
        assert temperature > 0 and graph_temperature > 0
        self.loss_weight = loss_weight
        self._loss_name = loss_name
        self._stat_prefix = stat_prefix
        self.ignore_index = ignore_index
        self.strong_threshold = strong_threshold
        self.temperature = temperature
        self.num_queries = num_queries
        self.num_negatives = num_negatives
        self.hard_query = hard_query
        self.relation_graph = relation_graph
        self.graph_temperature = graph_temperature
        self.chunk_size = chunk_size

    @property
    def loss_name(self) -> str:
        """str: key of the weighted loss in the returned dict."""
        return self._loss_name

    def forward(self,
                rep: Tensor,
                label: Tensor,
                prob: Tensor,
                valid_mask: Optional[Tensor] = None,
                generator: Optional[torch.Generator] = None
                ) -> Dict[str, Tensor]:
        """Compute the weighted ReCo loss and its statistics.

        Args:
            rep (Tensor): (N, D, h, w) pixel representations.
            label (Tensor): (N, h, w) labels at the resolution of ``rep``.
            prob (Tensor): (N, C, h, w) student softmax probabilities.
            valid_mask (Tensor, optional): (N, h, w) bool extra validity.
                Default: None.
            generator (torch.Generator, optional): random source.
                Default: None.

        Returns:
            dict[str, Tensor]: ``{loss_name: loss * loss_weight,
            '<name>_num_queries': ..., '<name>_num_classes': ...}``.
        """
        loss, stats = reco_loss(
            rep,
            label,
            prob,
            valid_mask,
            ignore_index=self.ignore_index,
            strong_threshold=self.strong_threshold,
            temperature=self.temperature,
            num_queries=self.num_queries,
            num_negatives=self.num_negatives,
            hard_query=self.hard_query,
            relation_graph=self.relation_graph,
            graph_temperature=self.graph_temperature,
            chunk_size=self.chunk_size,
            generator=generator)
        outputs = {self._loss_name: loss * self.loss_weight}
        for key, value in stats.items():
            outputs[f'{self._stat_prefix}_{key}'] = value
        return outputs

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, '
                f'strong_threshold={self.strong_threshold}, '
                f'temperature={self.temperature}, '
                f'num_queries={self.num_queries}, '
                f'num_negatives={self.num_negatives}, '
                f'hard_query={self.hard_query}, '
                f'relation_graph={self.relation_graph}, '
                f'graph_temperature={self.graph_temperature}')
