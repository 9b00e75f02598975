import collections
import io
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from mmseg_reco.models.utils.memory_bank import (ClassMemoryBank,
                                                 topk_per_image_class)


class _DequeBank:
    """Reference: one Python deque of (tag, vector) per class, pushed row by
    row."""

    def __init__(self, num_classes, size):
        self.queues = [
            collections.deque(maxlen=size) for _ in range(num_classes)
        ]

    def push(self, feats, labels):
        for feat, label in zip(feats, labels.tolist()):
            if 0 <= label < len(self.queues):
                self.queues[label].append(feat.clone())


def _assert_same(bank, ref):
    ordered, valid = bank.ordered()
    for c, queue in enumerate(ref.queues):
        assert int(bank.count[c]) == len(queue) <= bank.size
        assert int(valid[c].sum()) == len(queue)
        if queue:
            torch.testing.assert_close(ordered[c, :len(queue)],
                                       torch.stack(list(queue)), rtol=0,
                                       atol=0)


def test_fifo_order_pointer_and_count_match_row_by_row_reference():
    torch.manual_seed(0)
    bank = ClassMemoryBank(num_classes=3, feat_dim=2, size=4)
    ref = _DequeBank(3, 4)
    ref_total = [torch.zeros(3, dtype=torch.long)]
    for step in range(7):
        num = int(torch.randint(0, 9, ()))
        feats = torch.randn(num, 2)
        labels = torch.randint(-1, 4, (num, ))  # -1 and 3 are skipped
        bank.push(feats, labels)
        ref.push(feats, labels)
        _assert_same(bank, ref)
        assert ((bank.ptr >= 0) & (bank.ptr < 4)).all()
        # the pointer is the number of rows ever pushed, modulo psi
        total = ref_total[0] = ref_total[0] + torch.stack(
            [(labels == c).sum() for c in range(3)])
        assert torch.equal(bank.ptr, total % 4)


def test_oldest_entries_are_replaced_first():
    bank = ClassMemoryBank(num_classes=1, feat_dim=1, size=3)
    bank.push(torch.tensor([[1.], [2.], [3.]]), torch.zeros(3).long())
    assert bank.ptr.tolist() == [0] and bank.count.tolist() == [3]
    bank.push(torch.tensor([[4.]]), torch.zeros(1).long())
    # slot 0 (the oldest, 1.) was overwritten
    assert bank.bank[0, :, 0].tolist() == [4., 2., 3.]
    assert bank.ptr.tolist() == [1]
    ordered, _ = bank.ordered()
    assert ordered[0, :, 0].tolist() == [2., 3., 4.]


def test_single_push_larger_than_the_bank_keeps_its_last_rows():
    bank = ClassMemoryBank(num_classes=2, feat_dim=1, size=3)
    bank.push(torch.tensor([[9.]]), torch.tensor([1]))
    feats = torch.arange(5.)[:, None]
    bank.push(feats, torch.zeros(5).long())
    ordered, valid = bank.ordered()
    assert ordered[0, :, 0].tolist() == [2., 3., 4.]
    assert bank.count.tolist() == [3, 1]
    assert valid.sum(1).tolist() == [3, 1]
    # class 1 untouched
    assert bank.bank[1, 0, 0] == 9.


def test_never_more_than_psi_entries_and_invalid_labels_skipped():
    bank = ClassMemoryBank(num_classes=2, feat_dim=3, size=5)
    for _ in range(4):
        bank.push(torch.randn(20, 3), torch.randint(-3, 5, (20, )))
        assert (bank.count <= 5).all()
    before = bank.bank.clone()
    bank.push(torch.randn(6, 3), torch.tensor([-1, 2, 255, -7, 3, 100]))
    assert torch.equal(bank.bank, before)


def test_state_dict_round_trip_is_exact_and_continues_identically():
    torch.manual_seed(1)
    bank = ClassMemoryBank(num_classes=4, feat_dim=8, size=6)
    for _ in range(3):
        bank.push(torch.randn(10, 8), torch.randint(0, 4, (10, )))
    assert set(bank.state_dict()) == {'bank', 'ptr', 'count'}
    buffer = io.BytesIO()
    torch.save(bank.state_dict(), buffer)
    buffer.seek(0)
    restored = ClassMemoryBank(num_classes=4, feat_dim=8, size=6)
    restored.load_state_dict(torch.load(buffer))
    for name in ('bank', 'ptr', 'count'):
        assert torch.equal(getattr(bank, name), getattr(restored, name))
    feats, labels = torch.randn(9, 8), torch.randint(0, 4, (9, ))
    bank.push(feats, labels)
    restored.push(feats, labels)
    assert torch.equal(bank.bank, restored.bank)
    assert torch.equal(bank.ptr, restored.ptr)


def test_push_stores_float32_and_keeps_no_graph():
    bank = ClassMemoryBank(num_classes=2, feat_dim=4, size=2)
    feats = torch.randn(3, 4, requires_grad=True)
    bank.push(feats.to(torch.bfloat16), torch.tensor([0, 1, 0]))
    assert bank.bank.dtype == torch.float32
    assert not bank.bank.requires_grad


def _topk_reference(scores, labels, valid, k, num_classes):
    num = scores.shape[0]
    index = torch.zeros(num, num_classes, k, dtype=torch.long)
    keep = torch.zeros(num, num_classes, k, dtype=torch.bool)
    for n in range(num):
        for c in range(num_classes):
            pos = [i for i in range(scores.shape[1])
                   if valid[n, i] and labels[n, i] == c]
            # highest score first, lower index first on ties
            pos.sort(key=lambda i: (-float(scores[n, i]), i))
            for r, i in enumerate(pos[:k]):
                index[n, c, r] = i
                keep[n, c, r] = True
    return index, keep


@pytest.mark.parametrize('k', [1, 3])
def test_topk_per_image_class_are_the_highest_valid_scores(k):
    torch.manual_seed(2)
    scores = torch.rand(3, 40)
    scores[0, :4] = 0.5  # ties
    labels = torch.randint(0, 5, (3, 40))
    labels[1, 0] = 255
    valid = torch.rand(3, 40) > 0.3
    index, keep = topk_per_image_class(scores, labels, valid, k, 4)
    ref_index, ref_keep = _topk_reference(scores, labels, valid, k, 4)
    assert torch.equal(keep, ref_keep)
    assert torch.equal(index[keep], ref_index[ref_keep])
    # every kept entry is valid and of its class
    n, c, _ = torch.nonzero(keep, as_tuple=True)
    assert valid[n, index[keep]].all()
    assert torch.equal(labels[n, index[keep]], c)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world_size, port, out):
    import torch.distributed as dist
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world_size)
    try:
        bank = ClassMemoryBank(num_classes=2, feat_dim=3, size=4)
        feats = torch.full((3, 3), float(rank + 1))
        feats[:, 1] = torch.arange(3.)
        labels = torch.tensor([0, 1, -1]) if rank == 0 else torch.tensor(
            [1, 1, 0])
        bank.push(feats, labels)
        out[rank] = {k: v.clone() for k, v in bank.state_dict().items()}
    finally:
        dist.destroy_process_group()


def test_ddp_ranks_hold_the_same_bank_of_all_candidates():
    manager = mp.Manager()
    out = manager.dict()
    mp.spawn(_ddp_worker, args=(2, _free_port(), out), nprocs=2, join=True)
    state0, state1 = out[0], out[1]
    for key in state0:
        assert torch.equal(state0[key], state1[key])
    # rank 0's rows first, then rank 1's
    ref = ClassMemoryBank(num_classes=2, feat_dim=3, size=4)
    feats = torch.cat([torch.full((3, 3), 1.), torch.full((3, 3), 2.)])
    feats[:, 1] = torch.arange(3.).repeat(2)
    ref.push(feats, torch.tensor([0, 1, -1, 1, 1, 0]), gather=False)
    for key, value in ref.state_dict().items():
        assert torch.equal(state0[key], value)
    assert state0['count'].tolist() == [2, 3]
