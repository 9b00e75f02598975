"""Image-level split protocols of mmseg_reco.datasets.split_protocols."""
import os.path as osp
from fractions import Fraction

import numpy as np
import pytest

from mmseg_reco.datasets import split_protocols as S
from mmseg_reco.datasets import splits


def random_presence(num_images=300, num_classes=12, seed=0, rare=(10, 11)):
    """Class presence with a frequent background, common and rare classes."""
    rng = np.random.default_rng(seed)
    prob = np.full(num_classes, 0.3)
    prob[0] = 0.95
    prob[list(rare)] = 0.03
    return rng.random((num_images, num_classes)) < prob


def replay_reco(presence, order, min_classes):
    """Check ReCo's acceptance rule along the acceptance order."""
    counts = np.zeros(presence.shape[1], int)
    available = presence[presence.sum(1) >= min_classes].sum(0)
    for image in order:
        row = presence[image]
        assert row.sum() >= min_classes
        live = available > 0
        least = live & (counts == counts[live].min())
        assert (row & least).any(), 'accepted image misses the least-seen ' \
            'classes'
        counts += row
        available -= row


@pytest.mark.parametrize('num_labelled,min_classes', [(1, 3), (20, 3),
                                                      (60, 4), (150, 2)])
def test_class_balanced_properties(num_labelled, min_classes):
    presence = random_presence()
    labelled, unlabelled = S.class_balanced_split(presence, num_labelled,
                                                  min_classes, seed=3)
    assert len(labelled) == num_labelled
    assert len(set(labelled.tolist())) == num_labelled
    assert not set(labelled.tolist()) & set(unlabelled.tolist())
    assert sorted(labelled.tolist() + unlabelled.tolist()) == list(range(300))
    assert (np.diff(unlabelled) > 0).all()
    assert (presence[labelled].sum(1) >= min_classes).all()
    replay_reco(presence, labelled, min_classes)


def test_class_balanced_covers_rare_classes_better_than_random():
    presence = random_presence(num_images=400, seed=1)
    labelled, _ = S.class_balanced_split(presence, 30, 3, seed=0)
    counts = presence[labelled].sum(0)
    # every class that some eligible image holds is covered
    assert (counts > 0).all()
    # the least-seen class is seen nearly as often as possible: the rare
    # classes are drawn far above their 3% frequency
    rand = presence[np.random.default_rng(0).choice(400, 30, False)].sum(0)
    assert counts[[10, 11]].min() >= 5 > rand[[10, 11]].max()


def test_class_balanced_deterministic_by_seed():
    presence = random_presence()
    a = S.class_balanced_split(presence, 40, 3, seed=7)
    b = S.class_balanced_split(presence, 40, 3, seed=7)
    c = S.class_balanced_split(presence, 40, 3, seed=8)
    assert all((x == y).all() for x, y in zip(a, b))
    assert set(a[0].tolist()) != set(c[0].tolist())


def test_class_balanced_when_least_class_runs_out():
    # class 3 is held by one image only: after it is drawn, the loop must
    # go on with the other classes (the authors' loop would never end)
    presence = np.zeros((20, 4), bool)
    presence[:, 0] = True
    presence[:10, 1] = True
    presence[10:, 2] = True
    presence[0, 3] = True
    labelled, _ = S.class_balanced_split(presence, 12, 2, seed=0)
    assert len(labelled) == 12 and 0 in labelled.tolist()


def test_class_balanced_errors():
    presence = random_presence(num_images=50)
    eligible = int((presence.sum(1) >= 5).sum())
    with pytest.raises(ValueError, match='cannot draw .* labelled images'):
        S.class_balanced_split(presence, eligible + 1, 5)
    with pytest.raises(ValueError, match='only 50'):
        S.class_balanced_split(presence, 51, 1)
    with pytest.raises(ValueError, match='min_classes=13 is impossible'):
        S.class_balanced_split(presence, 1, 13)
    with pytest.raises(ValueError, match='positive integer'):
        S.class_balanced_split(presence, 0, 1)


def test_least_class_split_follows_least_class():
    presence = random_presence(num_images=200, num_classes=8, rare=(7, ))
    presence[:5] = False  # images without any class are never drawn
    labelled, unlabelled = S.least_class_split(presence, 40, seed=2)
    assert len(labelled) == 40 and len(set(labelled.tolist())) == 40
    assert sorted(labelled.tolist() + unlabelled.tolist()) == list(range(200))
    assert not set(range(5)) & set(labelled.tolist())
    counts = np.zeros(8, int)
    available = presence.sum(0)
    for image in labelled:
        live = available > 0
        least = np.flatnonzero(live & (counts == counts[live].min()))[0]
        assert presence[image, least], 'not drawn from the least class'
        counts += presence[image]
        available -= presence[image]
    again = S.least_class_split(presence, 40, seed=2)[0]
    assert (again == labelled).all()


def test_least_class_split_exhausts_classes():
    presence = np.zeros((10, 3), bool)
    presence[:, 0] = True
    presence[0, 2] = True
    labelled, _ = S.least_class_split(presence, 10, seed=0)
    assert sorted(labelled.tolist()) == list(range(10))
    with pytest.raises(ValueError, match='cannot draw 11'):
        S.least_class_split(presence, 11)


def test_random_split_and_ratio():
    labelled, unlabelled = S.random_split(100, 13, seed=1)
    assert len(labelled) == 13 and len(unlabelled) == 87
    assert (S.random_split(100, 13, seed=1)[0] == labelled).all()
    assert not (S.random_split(100, 13, seed=2)[0] == labelled).all()
    with pytest.raises(ValueError, match='only 100'):
        S.random_split(100, 101)
    # the published protocol sizes
    assert [S.ratio_count(10582, r) for r in ('1/16', '1/8', '1/4', '1/2',
                                              '1/50')] == [
                                                  662, 1323, 2646, 5291, 212]
    assert [S.ratio_count(1464, r) for r in ('1/16', '1/8', '1/4', '1/2')] \
        == [92, 183, 366, 732]
    assert [S.ratio_count(2975, r) for r in ('1/30', '1/8', '1/4')] == [
        100, 372, 744]
    assert S.ratio_count(1464, 0.125) == 183  # exact, no float rounding up
    assert S.parse_ratio('0.125') == Fraction(1, 8)
    assert S.ratio_tag('0.125') == '1of8'
    for bad in ('0', '3/2', 'a', '1/0'):
        with pytest.raises(ValueError):
            S.parse_ratio(bad)


def test_tags():
    assert S.share_tag(0) == 'p1px'
    assert S.share_tag(S.parse_share('1%')) == 'p1pct'
    assert S.share_tag(S.parse_share('25pct')) == 'p25pct'
    assert S.share_tag(0.125) == 'p12.5pct'
    assert S.parse_share('1px') == 0 and S.parse_share('0.05') == 0.05
    assert S.seed_suffix(0) == '' and S.seed_suffix(2) == '-seed2'
    with pytest.raises(ValueError):
        S.parse_share('150%')


def test_split_files(tmp_path):
    path = str(tmp_path / 'splits' / 'a.txt')
    S.write_split(path, ['x', 'city/y'])
    assert splits.read_split(path) == ['x', 'city/y']
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        splits.read_split(str(tmp_path / 'missing.txt'))
    (tmp_path / 'empty.txt').write_text('\n\n')
    with pytest.raises(ValueError, match='empty.txt.*lists no images'):
        splits.read_split(str(tmp_path / 'empty.txt'))
    (tmp_path / 'dup.txt').write_text('a\nb\na\n')
    with pytest.raises(ValueError, match="dup.txt.*twice: 'a'"):
        splits.read_split(str(tmp_path / 'dup.txt'))
    with pytest.raises(ValueError, match='empty split'):
        S.write_split(str(tmp_path / 'b.txt'), [])
    with pytest.raises(ValueError, match="pool.txt names 1 image.*'zz'"):
        S.check_subset(['x', 'zz'], ['x', 'y'], 'pool.txt', 'the train list')
    with pytest.raises(FileNotFoundError, match=r'listed in s\.txt.*nope'):
        splits.check_files_exist([path, str(tmp_path / 'nope.png')], 's.txt')
    with pytest.raises(ValueError, match='s.txt lists no images'):
        splits.check_data_list([], 's.txt')


def test_list_stems_recursive(tmp_path, fake_trees):
    rng = np.random.default_rng(0)
    for name in ('b/b_1', 'a/a_2', 'a/a_1'):
        fake_trees['write_image'](
            str(tmp_path / (name + '_leftImg8bit.png')), rng, 4, 4)
    (tmp_path / 'a' / 'notes.txt').write_text('x')
    assert S.list_stems(str(tmp_path), '_leftImg8bit.png') == [
        'a/a_1', 'a/a_2', 'b/b_1']
    with pytest.raises(ValueError, match='no file ending'):
        S.list_stems(str(tmp_path), '.jpg')


def test_load_label(tmp_path, fake_trees):
    label = np.array([[0, 1, 20], [255, 3, 0]], np.uint8)
    path = str(tmp_path / 'voc.png')
    fake_trees['write_label'](path, label, palette=True)
    assert (S.load_label(path, 21) == label).all()
    # reduce_zero_label: 0 -> ignore, k -> k - 1 (SUN RGB-D)
    sun = np.array([[0, 1, 37]], np.uint8)
    fake_trees['write_label'](str(tmp_path / 'sun.png'), sun)
    assert S.load_label(str(tmp_path / 'sun.png'), 37, True).tolist() == [
        [255, 0, 36]]
    enc = S.encode_label(np.array([[255, 0, 36]]), True)
    assert enc.tolist() == sun.tolist() and enc.dtype == np.uint8
    bad = str(tmp_path / 'bad.png')
    fake_trees['write_label'](bad, np.array([[0, 21, 40]], np.uint8))
    with pytest.raises(ValueError, match=r"bad.png' holds id\(s\) \[21, 40\]"):
        S.load_label(bad, 21)
    with pytest.raises(ValueError, match=r'\[38\]'):
        fake_trees['write_label'](bad, np.array([[38]], np.uint8))
        S.load_label(bad, 37, True)
    with pytest.raises(FileNotFoundError, match='nothere.png'):
        S.load_label(str(tmp_path / 'nothere.png'), 21)
    rgb = str(tmp_path / 'rgb.png')
    fake_trees['write_image'](rgb, np.random.default_rng(0), 4, 4)
    with pytest.raises(ValueError, match='single-channel'):
        S.load_label(rgb, 21)
    assert osp.isfile(path)


def test_class_presence():
    labels = [np.array([[0, 1], [255, 1]]), np.array([[2, 2], [2, 9]])]
    presence = S.class_presence(labels, 3)
    assert presence.tolist() == [[True, True, False], [False, False, True]]
    assert S.class_presence([], 3).shape == (0, 3)
