"""Tests of the vectorised ReCo loss against the per-class reference."""
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import chisquare

from mmseg.registry import MODELS
from mmseg_reco.models.losses.reco_loss import (_GatheredDot, ReCoLoss,
                                                reco_loss, sample_reco_indices)
from mmseg_reco.testing import (reco_loss_reference,
                                reco_relation_graph_reference)

IGNORE = 255
THRESHOLD = 0.97
SMALL = dict(num_queries=16, num_negatives=32)


def make_inputs(seed=0, n=2, d=8, h=9, w=9, c=5, ignore_frac=0.1):
    """Labels with ignored pixels, class-dependent features, and softmax
    probabilities of which a part exceeds THRESHOLD for the own class."""
    gen = torch.Generator().manual_seed(seed)
    label = torch.randint(0, c, (n, h, w), generator=gen)
    label[torch.rand(n, h, w, generator=gen) < ignore_frac] = IGNORE
    own = label.clamp(max=c - 1)
    means = 2.0 * torch.randn(c, d, generator=gen)
    rep = means[own].permute(0, 3, 1, 2) + torch.randn(
        n, d, h, w, generator=gen)
    logits = torch.randn(n, c, h, w, generator=gen)
    logits.scatter_add_(1, own[:, None],
                        8.0 * torch.rand(n, 1, h, w, generator=gen))
    prob = torch.softmax(logits, dim=1)
    return rep.requires_grad_(True), label, prob


def seeded(seed=123):
    return torch.Generator().manual_seed(seed)


def flat_own_prob(label, prob):
    safe = label.clamp(max=prob.shape[1] - 1)
    return prob.gather(1, safe[:, None]).flatten()


OPTION_SETS = [
    dict(),
    dict(hard_query=False),
    dict(relation_graph=False),
    dict(graph_temperature=0.5),
    dict(temperature=0.2, strong_threshold=0.9),
]


@pytest.mark.parametrize('options', OPTION_SETS)
@pytest.mark.parametrize('use_mask', [False, True])
def test_matches_reference_under_fixed_sampling(options, use_mask):
    rep, label, prob = make_inputs()
    valid_mask = None
    if use_mask:
        valid_mask = torch.rand(label.shape, generator=seeded(5)) > 0.3
    kwargs = dict(SMALL, **options)
    sampler_kwargs = {k: v for k, v in kwargs.items() if k != 'temperature'}
    samples = sample_reco_indices(
        rep, label, prob, valid_mask, generator=seeded(), **sampler_kwargs)
    assert samples.query_valid.sum() >= 2

    loss, stats = reco_loss(
        rep, label, prob, valid_mask, samples=samples, **kwargs)
    loss.backward()
    grad = rep.grad.clone()
    rep.grad = None
    expected = reco_loss_reference(
        rep, label, prob, valid_mask, samples=samples, **kwargs)
    expected.backward()

    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(grad, rep.grad, atol=1e-5, rtol=1e-4)
    assert grad.abs().sum() > 0
    assert stats['num_queries'] == samples.query_valid.sum() * 16
    assert stats['num_classes'] == samples.class_present.sum()

    # Drawing with the same generator state gives the same samples.
    drawn, _ = reco_loss(
        rep, label, prob, valid_mask, generator=seeded(), **kwargs)
    torch.testing.assert_close(drawn, loss, atol=0, rtol=0)


def test_relation_graph_matches_reference():
    rep, label, prob = make_inputs()
    for temperature in (1.0, 0.5):
        samples = sample_reco_indices(
            rep, label, prob, graph_temperature=temperature, **SMALL)
        expected = reco_relation_graph_reference(
            rep, label, num_classes=5, graph_temperature=temperature)
        torch.testing.assert_close(
            samples.negative_prob, expected, atol=1e-6, rtol=0)


def test_gradient_only_at_query_pixels():
    rep, label, prob = make_inputs()
    samples = sample_reco_indices(rep, label, prob, **SMALL)
    loss, _ = reco_loss(rep, label, prob, samples=samples, **SMALL)
    loss.backward()
    touched = rep.grad.permute(0, 2, 3, 1).reshape(-1, rep.shape[1])
    touched = touched.abs().sum(dim=1) > 0
    queries = torch.zeros_like(touched)
    queries[samples.query_index[samples.query_valid].flatten()] = True
    # Prototypes and negative keys are constants: no other pixel moves.
    assert torch.equal(touched, queries)


@pytest.mark.parametrize('method', ['gather', 'sorted', 'dense'])
@pytest.mark.parametrize('chunk_size', [1, 7, 1000])
def test_gathered_dot_methods(method, chunk_size):
    gen = seeded(1)
    table = torch.randn(40, 6, generator=gen)
    index = torch.randint(0, 40, (11, 9), generator=gen)
    query = torch.randn(11, 6, generator=gen, requires_grad=True)
    out = _GatheredDot.apply(query, table, index, chunk_size, method)
    weight = torch.randn(11, 9, generator=gen)
    (out * weight).sum().backward()
    expected_query = query.detach().requires_grad_(True)
    expected = (table[index] * expected_query[:, None]).sum(dim=2)
    (expected * weight).sum().backward()
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(query.grad, expected_query.grad)


def test_more_negatives_than_pixels():
    rep, label, prob = make_inputs(h=4, w=4, ignore_frac=0.0)
    kwargs = dict(num_queries=8, num_negatives=64)  # 64 keys > 32 pixels
    samples = sample_reco_indices(rep, label, prob, **kwargs)
    loss, _ = reco_loss(rep, label, prob, samples=samples, **kwargs)
    expected = reco_loss_reference(rep, label, prob, samples=samples, **kwargs)
    torch.testing.assert_close(loss, expected, atol=1e-5, rtol=0)


def test_queries_are_hard_pixels_of_their_class():
    rep, label, prob = make_inputs(h=12, w=12)
    valid_mask = torch.rand(label.shape, generator=seeded(2)) > 0.2
    samples = sample_reco_indices(
        rep, label, prob, valid_mask, generator=seeded(), **SMALL)
    flat_label = label.flatten()
    own = flat_own_prob(label, prob)
    for c in torch.nonzero(samples.query_valid).flatten().tolist():
        index = samples.query_index[c]
        assert (flat_label[index] == c).all()
        assert (own[index] < THRESHOLD).all()
        assert valid_mask.flatten()[index].all()

    # Without hard-query sampling, easy pixels are drawn as well.
    samples = sample_reco_indices(
        rep, label, prob, valid_mask, hard_query=False, **SMALL)
    index = samples.query_index[samples.query_valid].flatten()
    assert (own[index] >= THRESHOLD).any()
    assert (own[index] < THRESHOLD).any()
    queried = flat_label[samples.query_index]
    classes = torch.arange(5)[:, None].expand_as(queried)
    assert torch.equal(queried[samples.query_valid],
                       classes[samples.query_valid])


def test_threshold_applies_to_own_class_probability():
    rep, label, prob = make_inputs()
    confused = label == 2
    # Class-2 pixels confidently predicted as class 0: their maximum
    # probability is above the threshold, their own-class one far below.
    row = torch.full((5, ), 0.0025)
    row[0] = 0.99
    prob = torch.where(confused[:, None], row[None, :, None, None], prob)
    samples = sample_reco_indices(rep, label, prob, **SMALL)
    assert samples.query_valid[2]
    index = samples.query_index[2]
    assert (flat_own_prob(label, prob)[index] < THRESHOLD).all()
    assert (prob.max(dim=1).values.flatten()[index] >= THRESHOLD).all()


def test_class_without_hard_pixels_has_no_term():
    rep, label, prob = make_inputs()
    easy = label == 2
    prob = prob.clone().masked_fill(easy[:, None], 0.0)
    prob[:, 2][easy] = 1.0
    samples = sample_reco_indices(rep, label, prob, **SMALL)
    assert samples.class_present[2] and not samples.query_valid[2]
    loss, stats = reco_loss(rep, label, prob, samples=samples, **SMALL)
    expected = reco_loss_reference(rep, label, prob, samples=samples, **SMALL)
    torch.testing.assert_close(loss, expected, atol=1e-5, rtol=0)
    # The class still counts in the divisor, as in the authors' code.
    assert stats['num_classes'] == 5
    assert stats['num_queries'] == 4 * 16


def test_negatives_come_from_other_present_classes():
    rep, label, prob = make_inputs(h=12, w=12)
    label[label == 3] = IGNORE  # class 3 absent
    label[0, 0, 0] = 7  # outside [0, C): left out as well
    valid_mask = torch.rand(label.shape, generator=seeded(3)) > 0.2
    samples = sample_reco_indices(
        rep, label, prob, valid_mask, generator=seeded(), **SMALL)
    assert not samples.class_present[3]
    assert not samples.query_valid[3]
    flat_label = label.flatten()
    for c in torch.nonzero(samples.query_valid).flatten().tolist():
        negative_label = flat_label[samples.negative_index[c]]
        assert (negative_label != c).all()
        assert samples.class_present[negative_label.clamp(max=4)].all()
        assert (negative_label < 5).all()
        assert valid_mask.flatten()[samples.negative_index[c]].all()


@pytest.mark.parametrize('options', [
    dict(),
    dict(graph_temperature=0.5),
    dict(relation_graph=False),
])
def test_negative_class_frequencies_follow_relation_graph(options):
    rep, label, prob = make_inputs(seed=4, d=4)
    num_queries, num_negatives = 64, 256
    samples = sample_reco_indices(
        rep,
        label,
        prob,
        num_queries=num_queries,
        num_negatives=num_negatives,
        generator=seeded(9),
        **options)
    graph = reco_relation_graph_reference(
        rep,
        label,
        num_classes=5,
        relation_graph=options.get('relation_graph', True),
        graph_temperature=options.get('graph_temperature', 1.0))
    assert graph.max() > graph[graph > 0].min() * 1.2 or not options.get(
        'relation_graph', True)
    flat_label = label.flatten()
    draws = num_queries * num_negatives
    for c in range(5):
        negative_label = flat_label[samples.negative_index[c]].flatten()
        counts = torch.bincount(negative_label, minlength=5).double()
        others = graph[c] > 0
        assert counts[~others].sum() == 0
        expected = graph[c][others].double()
        expected = expected / expected.sum() * draws
        _, p_value = chisquare(counts[others].numpy(), expected.numpy())
        assert p_value > 1e-3, (c, counts, graph[c])


def test_negative_pixels_uniform_within_class():
    rep, label, prob = make_inputs(seed=6, d=4, c=3)
    samples = sample_reco_indices(
        rep,
        label,
        prob,
        num_queries=64,
        num_negatives=256,
        generator=seeded(11))
    pixels = torch.nonzero(label.flatten() == 1).flatten()
    drawn = samples.negative_index[0].flatten()
    drawn = drawn[label.flatten()[drawn] == 1]
    counts = (drawn[:, None] == pixels[None]).sum(dim=0).double()
    _, p_value = chisquare(counts.numpy())
    assert p_value > 1e-3


def test_fewer_than_two_classes_is_zero_with_gradient():
    rep, label, prob = make_inputs()
    label = torch.where(label == IGNORE, label, torch.ones_like(label))
    loss, stats = reco_loss(rep, label, prob, **SMALL)
    assert loss.item() == 0.0
    assert loss.requires_grad
    loss.backward()
    assert torch.equal(rep.grad, torch.zeros_like(rep))
    assert stats['num_classes'] == 1 and stats['num_queries'] == 0
    expected = reco_loss_reference(rep, label, prob, **SMALL)
    assert expected.item() == 0.0


def test_all_pixels_left_out_is_zero():
    rep, label, prob = make_inputs()
    for label_, mask in [(torch.full_like(label, IGNORE), None),
                         (label, torch.zeros_like(label, dtype=torch.bool))]:
        loss, stats = reco_loss(rep, label_, prob, mask, **SMALL)
        assert torch.isfinite(loss) and loss.item() == 0.0
        loss.backward()
        assert torch.isfinite(rep.grad).all()
        assert stats['num_classes'] == 0 and stats['num_queries'] == 0


def test_bf16_autocast_close_to_fp32():
    _, label, prob = make_inputs()
    gen = seeded(7)
    image = torch.randn(2, 3, 9, 9, generator=gen)
    conv = torch.nn.Conv2d(3, 8, 1)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        rep = conv(image)
        assert rep.dtype == torch.bfloat16
        loss_bf16, _ = reco_loss(
            rep, label, prob.bfloat16(), generator=seeded(), **SMALL)
    loss_bf16.backward()
    loss_fp32, _ = reco_loss(
        conv(image), label, prob, generator=seeded(), **SMALL)
    assert loss_bf16.dtype == torch.float32
    assert torch.isfinite(loss_bf16)
    assert all(torch.isfinite(p.grad).all() for p in conv.parameters())
    torch.testing.assert_close(loss_bf16, loss_fp32, atol=0.05, rtol=0.02)


def test_module_builds_and_weights():
    module = MODELS.build(dict(type='ReCoLoss', loss_weight=0.5, **SMALL))
    assert isinstance(module, ReCoLoss)
    assert module.loss_name == 'loss_reco'
    rep, label, prob = make_inputs()
    outputs = module(rep, label, prob, generator=seeded())
    assert set(outputs) == {
        'loss_reco', 'reco_num_queries', 'reco_num_classes'
    }
    loss, stats = reco_loss(rep, label, prob, generator=seeded(), **SMALL)
    torch.testing.assert_close(outputs['loss_reco'], 0.5 * loss)
    assert outputs['reco_num_classes'] == stats['num_classes']
    outputs['loss_reco'].backward()
    assert rep.grad.abs().sum() > 0

    # The same keys when the batch holds a single class.
    single = torch.zeros_like(label)
    degenerate = module(rep, single, prob)
    assert set(degenerate) == set(outputs)
    assert degenerate['loss_reco'].item() == 0.0


def test_module_names():
    module = ReCoLoss(loss_name='loss_reco_unsup')
    rep, label, prob = make_inputs()
    module.num_queries, module.num_negatives = 4, 8
    assert set(module(rep, label, prob)) == {
        'loss_reco_unsup', 'reco_unsup_num_queries', 'reco_unsup_num_classes'
    }
    with pytest.raises(AssertionError):
        ReCoLoss(loss_name='reco')
    with pytest.raises(AssertionError):
        ReCoLoss(loss_name='loss_reco_loss')


def test_rejects_label_at_another_resolution():
    rep, label, prob = make_inputs()
    with pytest.raises(AssertionError):
        reco_loss(rep, F.pad(label, (0, 1)), prob, **SMALL)
