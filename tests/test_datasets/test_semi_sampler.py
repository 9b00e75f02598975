import itertools

import pytest
import torch
from mmengine.dataset import BaseDataset
from mmengine.dataset import ConcatDataset as MMConcatDataset
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from torch.utils.data import ConcatDataset, DataLoader, Dataset

from mmseg.registry import DATA_SAMPLERS
from mmseg_reco.datasets.samplers.semi_sampler import \
    LabelledUnlabelledSampler

NUM_LABELLED_IMAGES = 7
NUM_UNLABELLED_IMAGES = 11


class _Range(Dataset):
    """Dataset whose item ``i`` is ``tag + i``."""

    def __init__(self, size, tag=0):
        self.size = size
        self.tag = tag

    def __len__(self):
        return self.size

    def __getitem__(self, idx):
        return self.tag + idx


class _MMRange(BaseDataset):
    """mmengine dataset of ``size`` items without annotation files."""

    def __init__(self, size, tag=0, **kwargs):
        self.size = size
        self.tag = tag
        super().__init__(ann_file='', serialize_data=False, **kwargs)

    def load_data_list(self):
        return [dict(idx=self.tag + i) for i in range(self.size)]


def _concat(num_labelled_images=NUM_LABELLED_IMAGES,
            num_unlabelled_images=NUM_UNLABELLED_IMAGES):
    return ConcatDataset(
        [_Range(num_labelled_images),
         _Range(num_unlabelled_images)])


def _batches(sampler, num_batches):
    """The first ``num_batches`` batches of ``sampler`` as lists."""
    it = iter(sampler)
    return [
        list(itertools.islice(it, sampler.batch_size))
        for _ in range(num_batches)
    ]


def _source_streams(sampler, num_batches):
    """Labelled and unlabelled local indices of the first batches."""
    batches = _batches(sampler, num_batches)
    labelled = [i for b in batches for i in b[:sampler.num_labelled]]
    unlabelled = [
        i - NUM_LABELLED_IMAGES for b in batches
        for i in b[sampler.num_labelled:]
    ]
    return labelled, unlabelled


@pytest.mark.parametrize('batch_size,num_labelled', [(5, 2), (4, None), (3, 1),
                                                     (2, 2)])
def test_ratio_and_positions(batch_size, num_labelled):
    sampler = LabelledUnlabelledSampler(_concat(),
                                        batch_size,
                                        num_labelled=num_labelled,
                                        seed=0)
    expected = batch_size // 2 if num_labelled is None else num_labelled
    assert sampler.num_labelled == expected
    # many more batches than images: the stream is infinite
    for batch in _batches(sampler, 60):
        assert len(batch) == batch_size
        assert all(0 <= i < NUM_LABELLED_IMAGES for i in batch[:expected])
        assert all(NUM_LABELLED_IMAGES <= i < NUM_LABELLED_IMAGES +
                   NUM_UNLABELLED_IMAGES for i in batch[expected:])


def test_default_num_labelled_at_least_one():
    sampler = LabelledUnlabelledSampler(_concat(), batch_size=1, seed=0)
    assert sampler.num_labelled == 1
    assert all(b[0] < NUM_LABELLED_IMAGES for b in _batches(sampler, 20))


def test_labelled_only_allows_empty_unlabelled_set():
    sampler = LabelledUnlabelledSampler(_concat(num_unlabelled_images=0),
                                        batch_size=3,
                                        num_labelled=3,
                                        seed=0)
    batches = _batches(sampler, 10)
    assert all(i < NUM_LABELLED_IMAGES for b in batches for i in b)


def test_each_pass_is_a_permutation():
    sampler = LabelledUnlabelledSampler(_concat(),
                                        batch_size=2,
                                        num_labelled=1,
                                        seed=0)
    labelled, unlabelled = _source_streams(sampler, 3 * NUM_UNLABELLED_IMAGES)
    for k in range(3):
        assert sorted(labelled[k * NUM_LABELLED_IMAGES:(k + 1) *
                               NUM_LABELLED_IMAGES]) == list(
                                   range(NUM_LABELLED_IMAGES))
        assert sorted(unlabelled[k * NUM_UNLABELLED_IMAGES:(k + 1) *
                                 NUM_UNLABELLED_IMAGES]) == list(
                                     range(NUM_UNLABELLED_IMAGES))
    # shuffled, and every pass differently
    first = labelled[:NUM_LABELLED_IMAGES]
    second = labelled[NUM_LABELLED_IMAGES:2 * NUM_LABELLED_IMAGES]
    assert first != list(range(NUM_LABELLED_IMAGES))
    assert first != second


def test_no_shuffle_takes_indices_in_order():
    sampler = LabelledUnlabelledSampler(_concat(),
                                        batch_size=2,
                                        num_labelled=1,
                                        shuffle=False,
                                        seed=0)
    labelled, unlabelled = _source_streams(sampler, 2 * NUM_LABELLED_IMAGES)
    assert labelled == list(range(NUM_LABELLED_IMAGES)) * 2
    assert unlabelled == list(range(NUM_UNLABELLED_IMAGES)) + list(
        range(2 * NUM_LABELLED_IMAGES - NUM_UNLABELLED_IMAGES))


@pytest.mark.parametrize('world_size', [2, 3])
def test_ranks_take_disjoint_slices_of_one_stream(world_size):
    num_batches = 4 * NUM_UNLABELLED_IMAGES
    single = LabelledUnlabelledSampler(_concat(),
                                       batch_size=4,
                                       num_labelled=2,
                                       seed=5,
                                       rank=0,
                                       world_size=1)
    global_lab, global_unl = _source_streams(single, world_size * num_batches)
    per_rank = []
    for rank in range(world_size):
        sampler = LabelledUnlabelledSampler(_concat(),
                                            batch_size=4,
                                            num_labelled=2,
                                            seed=5,
                                            rank=rank,
                                            world_size=world_size)
        lab, unl = _source_streams(sampler, num_batches)
        # rank r draws elements r, r + W, r + 2W, ... of each source stream
        assert lab == global_lab[rank::world_size]
        assert unl == global_unl[rank::world_size]
        per_rank.append(lab[:NUM_LABELLED_IMAGES // world_size])
    # within one pass over the labelled set, ranks never share an image
    flat = [i for lab in per_rank for i in lab]
    assert len(flat) == len(set(flat))


def test_deterministic_given_seed():
    make = lambda seed: LabelledUnlabelledSampler(  # noqa: E731
        _concat(), batch_size=4, num_labelled=2, seed=seed)
    sampler = make(3)
    assert _batches(sampler, 30) == _batches(make(3), 30)
    # every iter() restarts the same stream
    assert _batches(sampler, 30) == _batches(sampler, 30)
    assert _batches(make(3), 30) != _batches(make(4), 30)


def test_len_and_set_epoch():
    sampler = LabelledUnlabelledSampler(_concat(), batch_size=4, seed=0)
    assert len(sampler) == NUM_LABELLED_IMAGES + NUM_UNLABELLED_IMAGES
    before = _batches(sampler, 10)
    sampler.set_epoch(3)
    assert _batches(sampler, 10) == before


def test_resume_by_skipping_gives_the_same_next_batches():
    """Skip consumed batches as IterBasedTrainLoop does on resume."""
    dataset = ConcatDataset(
        [_Range(NUM_LABELLED_IMAGES),
         _Range(NUM_UNLABELLED_IMAGES, tag=1000)])

    def loader():
        sampler = LabelledUnlabelledSampler(dataset,
                                            batch_size=4,
                                            num_labelled=2,
                                            seed=11)
        return iter(DataLoader(dataset, batch_size=4, sampler=sampler))

    consumed = 3 * NUM_UNLABELLED_IMAGES + 1  # crosses several passes
    uninterrupted = loader()
    expected = [next(uninterrupted) for _ in range(consumed + 5)][consumed:]
    resumed = loader()
    for _ in range(consumed):
        next(resumed)
    for want in expected:
        got = next(resumed)
        assert torch.equal(got, want)
        assert (got[:2] < 1000).all() and (got[2:] >= 1000).all()


def test_built_by_runner_from_config():
    init_default_scope('mmseg')
    assert DATA_SAMPLERS.get('LabelledUnlabelledSampler') is \
        LabelledUnlabelledSampler
    dataset = MMConcatDataset([
        _MMRange(NUM_LABELLED_IMAGES),
        _MMRange(NUM_UNLABELLED_IMAGES, tag=1000)
    ])
    cfg = dict(batch_size=4,
               num_workers=0,
               sampler=dict(type='LabelledUnlabelledSampler',
                            batch_size=4,
                            num_labelled=1),
               collate_fn=dict(type='pseudo_collate'),
               dataset=dataset)
    dataloader = Runner.build_dataloader(cfg, seed=123)
    sampler = dataloader.sampler
    assert isinstance(sampler, LabelledUnlabelledSampler)
    assert sampler.seed == 123  # the runner's seed reaches the sampler
    for _, batch in zip(range(10), dataloader):
        idx = batch['idx']  # pseudo_collate: dict of lists
        assert idx[0] < 1000 and all(i >= 1000 for i in idx[1:])


def test_random_seed_when_none():
    sampler = LabelledUnlabelledSampler(_concat(), batch_size=4)
    assert isinstance(sampler.seed, int)


@pytest.mark.parametrize('dataset,kwargs,error,match', [
    (_Range(5), dict(batch_size=2), TypeError, 'ConcatDataset'),
    (ConcatDataset([_Range(2), _Range(2), _Range(2)
                    ]), dict(batch_size=2), ValueError, 'exactly 2'),
    (_concat(num_labelled_images=0), dict(batch_size=2), ValueError,
     'labelled dataset'),
    (_concat(num_unlabelled_images=0), dict(batch_size=2), ValueError,
     'unlabelled dataset'),
    (_concat(), dict(batch_size=0), ValueError, 'batch_size'),
    (_concat(), dict(batch_size=2.0), ValueError, 'batch_size'),
    (_concat(), dict(batch_size=2,
                     num_labelled=0), ValueError, 'num_labelled'),
    (_concat(), dict(batch_size=2,
                     num_labelled=3), ValueError, 'num_labelled'),
    (_concat(), dict(batch_size=2, rank=2, world_size=2), ValueError, 'rank'),
])
def test_invalid_arguments(dataset, kwargs, error, match):
    with pytest.raises(error, match=match):
        LabelledUnlabelledSampler(dataset, seed=0, **kwargs)
