"""TransformRecord / project_target: a target mapped through the strong
view's record equals the target augmented alongside the image."""
import pytest
import torch

from mmseg_reco.models.augmentation import (StrongAugment, TransformRecord,
                                            project_target)

GEOMETRY_ONLY = dict(jitter_prob=0.0, blur_prob=0.0)


def images_and_labels(num=3, size=(24, 20), seed=0):
    gen = torch.Generator().manual_seed(seed)
    images = torch.rand(num, 3, *size, generator=gen) * 255
    labels = torch.randint(0, 5, (num, *size), generator=gen)
    return images, labels


def augment(aug, images, labels, seed=1):
    return aug.augment(
        images, labels, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize('mix', ['classmix', 'cutmix', None])
def test_projected_images_equal_the_augmented_images(mix):
    """Flip and mixing: the images themselves, projected as a (N, 3, H, W)
    target, are the augmented images; the labels are the carried labels."""
    aug = StrongAugment(mix=mix, flip_prob=0.5, **GEOMETRY_ONLY)
    images, labels = images_and_labels()
    out, out_labels, _, record = augment(aug, images, labels)
    assert record.flip is not None and record.flip.any() \
        and not record.flip.all()
    if mix is not None:
        assert (~record.keep).any() and record.keep.any()
    assert torch.equal(project_target(record, images, 0.), out)
    assert torch.equal(project_target(record, labels, 255), out_labels)


def test_projected_crop_equals_the_augmented_images():
    """Rescale + crop (scale >= 1: no padding): the bilinear projection of
    the images is the augmented image, the nearest one the labels."""
    aug = StrongAugment(
        mix=None, scale_range=(1.2, 1.6), flip_prob=0.0, **GEOMETRY_ONLY)
    images, labels = images_and_labels()
    out, out_labels, _, record = augment(aug, images, labels)
    assert record.scale is not None and (record.top + record.left).sum() > 0
    torch.testing.assert_close(
        project_target(record, images, 0., mode='bilinear'), out)
    assert torch.equal(project_target(record, labels, 255), out_labels)
    assert not torch.equal(out_labels, labels)


def test_projection_maps_a_second_target_like_the_labels():
    """A target that was not carried (segment ids, a bool mask, a float
    map) lands where the labels land: project a one-to-one code of the
    labels and decode it."""
    aug = StrongAugment(
        mix='classmix', scale_range=(0.6, 1.5), **GEOMETRY_ONLY)
    images, labels = images_and_labels(num=4)
    conf = torch.rand(labels.shape)
    _, out_labels, out_conf, record = aug.augment(
        images, labels, conf, generator=torch.Generator().manual_seed(3))
    codes = labels * 7 + 3
    projected = project_target(record, codes, -1)
    assert torch.equal(
        torch.where(projected >= 0, (projected - 3) // 7, 255), out_labels)
    assert torch.equal(project_target(record, conf, 0.), out_conf)
    is_one = project_target(record, labels == 1, False)
    assert is_one.dtype == torch.bool
    assert torch.equal(is_one, out_labels == 1)


def test_cutout_erases_and_partner_mask():
    aug = StrongAugment(mix='cutout', flip_prob=0.0, **GEOMETRY_ONLY)
    images, labels = images_and_labels()
    _, out_labels, _, record = augment(aug, images, labels)
    assert record.erase and not record.from_partner().any()
    assert torch.equal(project_target(record, labels, 255), out_labels)
    assert (out_labels[~record.keep] == 255).all()
    mix = StrongAugment(mix='cutmix', flip_prob=1.0, **GEOMETRY_ONLY)
    _, _, _, record = augment(mix, images, labels)
    assert torch.equal(record.from_partner(), (~record.keep).flip(-1))


def test_stacked_views_and_size_check():
    aug = StrongAugment(mix='cutmix', **GEOMETRY_ONLY)
    images, labels = images_and_labels()
    views = [augment(aug, images, labels, seed=s) for s in (1, 2)]
    record = TransformRecord.stack([v[3] for v in views])
    assert record.num_views == 2
    assert torch.equal(
        project_target(record, labels, 255), torch.cat([v[1] for v in views]))
    with pytest.raises(ValueError, match='images\' size'):
        project_target(record, labels[:, :4], 255)
