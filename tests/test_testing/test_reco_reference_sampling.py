"""The ReCo reference's own sampling path (``samples=None``), which the
benchmark times, against the vectorised loss."""
import math

import torch
import torch.nn.functional as F

from mmseg_reco.models.losses.reco_loss import reco_loss
from mmseg_reco.testing import reco_loss_reference

IGNORE = 255


def two_pixel_inputs():
    """One valid pixel of class 0 and one of class 1, the rest ignored:
    every draw, of queries and of negative keys, is forced."""
    gen = torch.Generator().manual_seed(0)
    rep = torch.randn(1, 4, 3, 3, generator=gen)
    label = torch.full((1, 3, 3), IGNORE)
    label[0, 0, 0], label[0, 2, 1] = 0, 1
    prob = torch.full((1, 2, 3, 3), 0.5)  # both pixels are hard queries
    return rep, label, prob


def test_reference_sampling_gives_the_closed_form_when_draws_are_forced():
    rep, label, prob = two_pixel_inputs()
    temperature, negatives = 0.5, 7
    a, b = rep[0, :, 0, 0], rep[0, :, 2, 1]
    cos = F.cosine_similarity(a, b, dim=0).item()
    # each class: query = its pixel, positive = itself (cos 1), K keys of
    # the other pixel; mean of the two identical cross entropies
    expected = -math.log(
        math.exp(1 / temperature) /
        (math.exp(1 / temperature) + negatives * math.exp(cos / temperature)))
    options = dict(num_queries=3, num_negatives=negatives,
                   temperature=temperature)
    ref = reco_loss_reference(rep, label, prob,
                              generator=torch.Generator().manual_seed(1),
                              **options)
    vec, _ = reco_loss(rep, label, prob,
                       generator=torch.Generator().manual_seed(2), **options)
    assert abs(ref.item() - expected) < 1e-5
    assert abs(vec.item() - expected) < 1e-5


def random_inputs(seed=0, c=4):
    gen = torch.Generator().manual_seed(seed)
    label = torch.randint(0, c, (2, 6, 6), generator=gen)
    means = 1.5 * torch.randn(c, 8, generator=gen)
    rep = means[label].permute(0, 3, 1, 2) + torch.randn(2, 8, 6, 6,
                                                         generator=gen)
    logits = torch.randn(2, c, 6, 6, generator=gen)
    logits.scatter_add_(1, label[:, None],
                        6.0 * torch.rand(2, 1, 6, 6, generator=gen))
    return rep, label, torch.softmax(logits, dim=1)


def test_reference_sampling_agrees_with_the_vectorised_loss_in_mean():
    """Different random draws, the same distribution: over many seeds the
    two losses have the same mean, within four standard errors. A sharp
    relation graph makes the negative-class draw matter: the reference
    with uniform negative classes would be far outside that bound."""
    rep, label, prob = random_inputs()
    options = dict(num_queries=32, num_negatives=32, graph_temperature=0.2)
    ref, vec = [], []
    for seed in range(40):
        gen = torch.Generator().manual_seed(seed)
        ref.append(reco_loss_reference(rep, label, prob, generator=gen,
                                       **options).item())
        gen = torch.Generator().manual_seed(1000 + seed)
        vec.append(reco_loss(rep, label, prob, generator=gen,
                             **options)[0].item())
    ref, vec = torch.tensor(ref), torch.tensor(vec)
    stderr = math.sqrt(ref.var() / len(ref) + vec.var() / len(vec))
    assert ref.std() > 0 and vec.std() > 0  # both really sample
    assert abs(ref.mean() - vec.mean()) < 4 * stderr


def test_reference_sampling_is_reproducible_from_its_generator():
    rep, label, prob = random_inputs(seed=1)
    options = dict(num_queries=8, num_negatives=8)
    first = reco_loss_reference(rep, label, prob,
                                generator=torch.Generator().manual_seed(5),
                                **options)
    again = reco_loss_reference(rep, label, prob,
                                generator=torch.Generator().manual_seed(5),
                                **options)
    other = reco_loss_reference(rep, label, prob,
                                generator=torch.Generator().manual_seed(6),
                                **options)
    assert first.item() == again.item()
    assert first.item() != other.item()
