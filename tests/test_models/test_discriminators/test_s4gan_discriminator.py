import pytest
import torch
import torch.nn.functional as F

import mmseg_reco.models.discriminators  # noqa: F401
from mmseg.registry import MODELS

NUM_CLASSES = 4


def build(**kwargs):
    cfg = dict(type='S4GANDiscriminator', num_classes=NUM_CLASSES)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def toy_pairs(num, size=16, generator=None):
    """Real: image + one-hot labels; fake: image + soft random predictions.

    The label map is a function of the image (the class of the brightest
    channel group), so real pairs are consistent; the fake maps are
    softmaxes of random logits, neither one-hot nor tied to the image.
    """
    images = torch.rand(num, 3, size, size, generator=generator)
    labels = (images.sum(1) * NUM_CLASSES / 3).long()
    labels = labels.clamp(max=NUM_CLASSES - 1)
    real = torch.cat(
        [images, F.one_hot(labels, NUM_CLASSES).permute(0, 3, 1, 2).float()],
        dim=1)
    logits = torch.randn(num, NUM_CLASSES, size, size, generator=generator)
    fake = torch.cat([images, logits.softmax(dim=1)], dim=1)
    return real, fake


def test_output_shapes_and_any_input_size():
    disc = build(base_channels=8)
    for size in (32, (40, 24)):
        h, w = (size, size) if isinstance(size, int) else size
        logits, feats = disc(torch.rand(2, 3 + NUM_CLASSES, h, w))
        assert logits.shape == (2, )
        # 4 convolutions: 8 * 2**3 channels
        assert feats.shape == (2, 64)
    assert disc.feat_channels == 64


def test_authors_architecture_by_default():
    disc = build()
    convs = [m for m in disc.convs if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512]
    assert convs[0].in_channels == 3 + NUM_CLASSES
    assert all(c.stride == (2, 2) and c.kernel_size == (4, 4) for c in convs)
    dropouts = [m for m in disc.convs if isinstance(m, torch.nn.Dropout2d)]
    assert len(dropouts) == 3 and all(d.p == 0.5 for d in dropouts)
    acts = [m for m in disc.convs if isinstance(m, torch.nn.LeakyReLU)]
    assert len(acts) == 4 and all(a.negative_slope == 0.2 for a in acts)


def test_wrong_channels_raise():
    disc = build(base_channels=8)
    with pytest.raises(AssertionError, match='expected'):
        disc(torch.rand(2, 3 + NUM_CLASSES + 1, 16, 16))
    with pytest.raises(AssertionError):
        build(dropout_ratio=1.0)


def test_separates_real_from_fake_after_a_few_adam_steps():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    disc = build(base_channels=16)
    optim = torch.optim.Adam(disc.parameters(), lr=1e-3, betas=(0.9, 0.99))
    held_real, held_fake = toy_pairs(16, generator=gen)

    def scores():
        disc.eval()
        with torch.no_grad():
            real = disc(held_real)[0].sigmoid()
            fake = disc(held_fake)[0].sigmoid()
        disc.train()
        return real, fake

    real0, fake0 = scores()
    assert (real0.mean() - fake0.mean()).abs() < 0.1  # untrained: no opinion
    for _ in range(30):
        real, fake = toy_pairs(8, generator=gen)
        logits, _ = disc(torch.cat([fake, real]))
        target = torch.cat([torch.zeros(8), torch.ones(8)])
        loss = F.binary_cross_entropy_with_logits(logits, target)
        optim.zero_grad()
        loss.backward()
        optim.step()
    real1, fake1 = scores()
    assert real1.min() > 0.5 > fake1.max()
    assert real1.mean() - fake1.mean() > 0.5
