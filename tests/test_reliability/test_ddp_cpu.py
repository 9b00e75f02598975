"""DDP on CPU (gloo): 2 processes against 1 process on the same global batch.

What is expected of 2 ranks, each given one half of a global batch:

- ReCo loss, the mean-teacher methods and UniMatch (no EMA teacher: the
  student's weak pass, two strong views, the feature-perturbation stream):
  every statistic (prototypes, relation graph, present classes, BatchNorm
  batch statistics, pseudo-label confidence ratio, valid-pixel count) is
  computed per rank, as in the authors' single-GPU code. So each rank's loss equals one process's loss on that half (same
  random draws), and the DDP gradient equals the mean of the two per-half
  gradients of one process, within float32 summation error (``RTOL``,
  ``ATOL``); it does not equal the gradient of the whole batch.
- Memory bank: each rank pushes its candidates after all-gathering every
  rank's, so every rank holds the bank one process would hold after pushing
  rank 0's then rank 1's candidates, bit for bit.
- A rank whose half has no valid pixel or a single class returns the same
  loss keys (a zero loss with a gradient path): the gradient all-reduce
  completes, no rank hangs.
- SyncBN: torch's SyncBatchNorm refuses CPU tensors under a process group;
  ``init_cpu_dist`` builds SyncBN layers as BN with a warning.
- Every method's demo config trains 2 iterations under 2 gloo ranks with
  mmengine's Runner (``--launcher pytorch`` path of tools/train.py).
"""
import copy
import os
import socket
import time

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F

from mmseg_reco.models.losses.reco_loss import ReCoLoss
from mmseg_reco.models.utils.memory_bank import ClassMemoryBank
from reliability_utils import (METHOD_CONFIGS, REPO, model_and_batch,
                               requires_demo, small_cfg)

WORLD = 2
RTOL = 1e-5
ATOL = 1e-6
#: seconds before a distributed job counts as hung
TIMEOUT = 240


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _entry(rank, fn, port, out_dir, args):
    os.environ.update(
        MASTER_ADDR='127.0.0.1',
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(WORLD))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=WORLD)
    try:
        result = fn(rank, *args)
        torch.save(result, os.path.join(out_dir, f'rank{rank}.pth'))
    finally:
        dist.destroy_process_group()


def spawn(fn, tmp_path, *args):
    """Run ``fn(rank, *args)`` on 2 gloo ranks; return their results.

    The processes are forked (the parent's imports are inherited); a job
    that runs past ``TIMEOUT`` seconds fails the test as a hang.
    """
    context = mp.start_processes(
        _entry,
        args=(fn, free_port(), str(tmp_path), args),
        nprocs=WORLD,
        join=False,
        start_method='fork')
    deadline = time.time() + TIMEOUT
    while not context.join(timeout=1):
        if time.time() > deadline:
            for process in context.processes:
                if process.is_alive():
                    process.kill()
            pytest.fail(f'{fn.__name__} did not finish in {TIMEOUT} s: hang')
    return [
        torch.load(tmp_path / f'rank{r}.pth', weights_only=False)
        for r in range(WORLD)
    ]


def assert_close_grads(got, want):
    assert got.keys() == want.keys()
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=RTOL,
                                   atol=ATOL, msg=key)


# --------------------------------------------------------------------------
# the ReCo loss on a small network
class RepNet(nn.Module):
    """Representation and logits of a 1x1-conv network."""

    def __init__(self):
        super().__init__()
        self.rep = nn.Conv2d(3, 8, 1)
        self.cls = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        rep = self.rep(x)
        return rep, self.cls(F.relu(rep))


def reco_data(degenerate=None):
    """Global batch of 4 images, 8x8; half 0 holds classes {0, 1}, half 1
    classes {2, 3}. ``degenerate=(rank, kind)``: that rank's half gets
    ``'ignored'`` (every pixel 255) or ``'one_class'`` (class 0) labels."""
    gen = torch.Generator().manual_seed(123)
    x = torch.randn(4, 3, 8, 8, generator=gen)
    label = torch.randint(0, 2, (4, 8, 8), generator=gen)
    label[2:] += 2
    label[:, 0, 0] = 255
    if degenerate is not None:
        rank, kind = degenerate
        label[2 * rank:2 * rank + 2] = 255 if kind == 'ignored' else 0
    return x, label


def reco_grads(model, x, label, seed):
    """CE + ReCo loss (no hard-query filter) and the gradients of one
    batch. The CE is averaged over all pixels (mmseg's default), so that an
    all-ignored half gives 0, not 0/0."""
    loss_fn = ReCoLoss(num_queries=16, num_negatives=32, hard_query=False)
    model.zero_grad()
    rep, logits = model(x)
    torch.manual_seed(seed)
    out = loss_fn(rep, label, logits.softmax(1))
    out['loss_ce'] = F.cross_entropy(
        logits, label, ignore_index=255, reduction='sum') / label.numel()
    (out['loss_reco'] + out['loss_ce']).backward()
    module = getattr(model, 'module', model)
    grads = {k: p.grad.clone() for k, p in module.named_parameters()}
    return {k: v.detach() for k, v in out.items()}, grads


def _reco_job(rank, degenerate):
    torch.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(RepNet())
    x, label = reco_data(degenerate)
    half = slice(2 * rank, 2 * rank + 2)
    return reco_grads(model, x[half], label[half], seed=100 + rank)


@pytest.mark.parametrize('degenerate', [None, (0, 'ignored'),
                                        (1, 'one_class')])
def test_reco_loss_gradient_is_the_mean_of_per_half_gradients(
        degenerate, tmp_path):
    ranks = spawn(_reco_job, tmp_path, degenerate)
    x, label = reco_data(degenerate)
    halves = []
    for rank in range(WORLD):
        torch.manual_seed(0)
        half = slice(2 * rank, 2 * rank + 2)
        halves.append(
            reco_grads(RepNet(), x[half], label[half], seed=100 + rank))
    mean = {k: (halves[0][1][k] + halves[1][1][k]) / WORLD
            for k in halves[0][1]}
    for rank, (out, grads) in enumerate(ranks):
        # the same keys on every rank, also for a degenerate half
        assert out.keys() == halves[rank][0].keys()
        for key in out:
            torch.testing.assert_close(out[key], halves[rank][0][key])
        assert_close_grads(grads, mean)
    if degenerate is None:
        # per-rank statistics: each rank sees its own two classes
        assert [out['reco_num_classes'] for out, _ in ranks] == [2, 2]
        torch.manual_seed(0)
        whole, _ = reco_grads(RepNet(), x, label, seed=100)
        assert whole['reco_num_classes'] == 4
    else:
        # no valid query (or no second class): 0 with a gradient path
        out = ranks[degenerate[0]][0]
        assert out['loss_reco'] == 0 and out['reco_num_queries'] == 0


# --------------------------------------------------------------------------
# the memory bank gather
def bank_rows(rank, empty_rank=None):
    gen = torch.Generator().manual_seed(10 + rank)
    feats = torch.randn(6, 4, generator=gen)
    labels = torch.randint(0, 3, (6, ), generator=gen)
    labels[0] = -1  # skipped row
    if rank == empty_rank:
        labels.fill_(-1)  # nothing valid on this rank, same shape
    return feats, labels


def _bank_job(rank, empty_rank):
    bank = ClassMemoryBank(num_classes=3, feat_dim=4, size=5)
    for push in range(2):
        feats, labels = bank_rows(rank + 2 * push, empty_rank)
        bank.push(feats, labels)
    return bank.state_dict()


@pytest.mark.parametrize('empty_rank', [None, 1])
def test_memory_bank_is_the_same_on_every_rank(empty_rank, tmp_path):
    ranks = spawn(_bank_job, tmp_path, empty_rank)
    reference = ClassMemoryBank(num_classes=3, feat_dim=4, size=5)
    for push in range(2):
        rows = [bank_rows(r + 2 * push, empty_rank) for r in range(WORLD)]
        reference.push(
            torch.cat([f for f, _ in rows]), torch.cat([l for _, l in rows]))
    for state in ranks:
        for key, value in reference.state_dict().items():
            assert torch.equal(state[key], value), key


# --------------------------------------------------------------------------
# a non-finite loss on one rank stops every rank
def _nonfinite_job(rank):
    import math
    from types import SimpleNamespace

    from mmengine.logging import MessageHub

    from mmseg_reco.engine.hooks.nonfinite_loss_hook import (
        NonFiniteLossError, NonFiniteLossHook)
    hub = MessageHub.get_instance(f'nonfinite_rank{rank}')
    values = dict(loss=1.0, sup_loss_ce=1.0)
    if rank == 1:
        values.update(loss=math.nan, sup_loss_ce=math.nan)
    for key, value in values.items():
        hub.update_scalar(f'train/{key}', value)
    runner = SimpleNamespace(message_hub=hub, iter=9)
    try:
        NonFiniteLossHook().after_train_iter(runner, 9, outputs=values)
    except NonFiniteLossError as error:
        return str(error)
    return None


def test_nonfinite_loss_on_one_rank_stops_every_rank(tmp_path):
    messages = spawn(_nonfinite_job, tmp_path)
    for message in messages:
        assert message is not None
        assert 'iteration 10: sup_loss_ce=nan, loss=nan on rank 1' in message


# --------------------------------------------------------------------------
# SyncBN
def _sync_bn_job(rank):
    bn = nn.SyncBatchNorm(3)
    try:
        bn(torch.randn(2, 3, 4, 4))
    except ValueError as error:
        return str(error)
    return None


def test_sync_bn_on_cpu_is_refused_by_torch_and_reverted_by_init(tmp_path):
    errors = spawn(_sync_bn_job, tmp_path)
    assert all(e is not None and 'GPU' in e for e in errors), errors
    # init_cpu_dist builds SyncBN layers as BN
    from mmengine.config import Config
    from mmseg_reco.utils.dist import revert_sync_norm_cfg
    cfg = Config.fromfile(
        os.path.join(REPO, 'configs/_base_/models/deeplabv3plus_r101-d8.py'))
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    assert revert_sync_norm_cfg(cfg.model) == ['SyncBN', 'SyncBN']
    assert cfg.model.backbone.norm_cfg.type == 'BN'
    assert cfg.model.decode_head.norm_cfg.type == 'BN'


# --------------------------------------------------------------------------
# full mean-teacher models
def split_batch(batch, rank):
    """Rank ``rank``'s half of a global batch, labelled images first."""
    samples = batch['data_samples']
    lab = [i for i, s in enumerate(samples) if 'gt_sem_seg' in s]
    unl = [i for i, s in enumerate(samples) if 'gt_sem_seg' not in s]
    keep = lab[rank::WORLD] + unl[rank::WORLD]
    return dict(
        inputs=[batch['inputs'][i] for i in keep],
        data_samples=[copy.deepcopy(samples[i]) for i in keep])


def model_grads(model, batch, seed):
    """Losses and student gradients of one batch."""
    module = getattr(model, 'module', model)
    module.zero_grad(set_to_none=True)
    torch.manual_seed(seed)
    data = module.data_preprocessor(copy.deepcopy(batch), True)
    losses = model(**data, mode='loss')
    total, _ = module.parse_losses(losses)
    total.backward()
    grads = {
        k: p.grad.clone()
        for k, p in module.named_parameters() if p.grad is not None
    }
    return {k: v.detach() for k, v in losses.items()}, grads


def _semi_job(rank, model, batch):
    from mmengine.model import MMDistributedDataParallel
    ddp = MMDistributedDataParallel(module=model)
    losses, grads = model_grads(ddp, split_batch(batch, rank),
                                seed=100 + rank)
    # memory-bank terms gather every rank's candidates
    banks = {}
    for name, term in model.named_modules():
        if callable(getattr(term, 'push_candidates', None)):
            term.push_candidates()
            banks.update({
                f'{name}.{k}': v.clone()
                for k, v in term.state_dict().items() if 'bank.' in k
            })
    return losses, grads, banks


def ignore_rank0_labels(batch):
    """Every labelled pixel of rank 0's half set to the ignore index."""
    batch = copy.deepcopy(batch)
    lab = [s for s in batch['data_samples'] if 'gt_sem_seg' in s]
    for sample in lab[0::WORLD]:
        sample.gt_sem_seg.data.fill_(255)
    return batch


@requires_demo
@pytest.mark.parametrize('degenerate', [False, True])
@pytest.mark.parametrize('name', ['reco-classmix', 'cmb', 'unimatch'])
def test_semi_step_gradient_is_the_mean_of_per_half_gradients(
        name, degenerate, tmp_path):
    model, _ = model_and_batch(name)
    cfg = small_cfg(name, '/tmp/unused', iters=1, batch=2 * 4)
    from mmengine.runner import Runner
    batch = next(iter(Runner.build_dataloader(cfg.train_dataloader, seed=0)))
    if degenerate:
        batch = ignore_rank0_labels(batch)
    state = copy.deepcopy(model.state_dict())
    ranks = spawn(_semi_job, tmp_path, model, batch)
    halves = []
    for rank in range(WORLD):
        model.load_state_dict(state)
        halves.append(model_grads(model, split_batch(batch, rank),
                                  seed=100 + rank))
    model.load_state_dict(state)
    mean = {k: (halves[0][1][k] + halves[1][1][k]) / WORLD
            for k in halves[0][1]}
    for rank, (losses, grads, _) in enumerate(ranks):
        # the same keys on every rank, also with no valid labelled pixel
        assert losses.keys() == halves[rank][0].keys()
        for key in losses:
            torch.testing.assert_close(
                losses[key], halves[rank][0][key], rtol=RTOL, atol=ATOL)
        assert_close_grads(grads, mean)
    banks = [b for _, _, b in ranks]
    assert banks[0].keys() == banks[1].keys()
    assert (name == 'cmb') == bool(banks[0])
    for key in banks[0]:
        assert torch.equal(banks[0][key], banks[1][key]), key


# --------------------------------------------------------------------------
# every method's demo config under the Runner, 2 ranks
def _runner_job(rank, name, work_dir):
    from mmseg_reco.utils import init_cpu_dist
    from reliability_utils import run
    cfg = small_cfg(name, work_dir, iters=2)
    cfg.launcher = 'pytorch'
    init_cpu_dist(cfg)
    recorder = run(cfg)
    model = recorder.runner.model
    model = getattr(model, 'module', model)
    params = {k: p.detach().clone() for k, p in model.named_parameters()}
    banks = {
        k: v.clone()
        for k, v in model.state_dict().items() if '.bank.' in k
    }
    return recorder.logs, recorder.images, params, banks


@requires_demo
@pytest.mark.parametrize('name', list(METHOD_CONFIGS))
def test_every_method_trains_on_two_gloo_ranks(name, tmp_path):
    ranks = spawn(_runner_job, tmp_path, name, str(tmp_path / 'work'))
    (logs0, images0, params0, banks0), (logs1, images1, params1,
                                        banks1) = ranks
    assert sorted(logs0) == sorted(logs1) == [1, 2]
    for step in logs0:
        # the same loss keys on every rank, finite values
        assert logs0[step].keys() == logs1[step].keys()
        for logs in (logs0, logs1):
            assert all(torch.isfinite(torch.tensor(v))
                       for v in logs[step].values()), logs[step]
        # the ranks draw different images
        assert not set(images0[step]) & set(images1[step])
    # parameters (student, EMA teacher, discriminator) stay in sync
    assert params0.keys() == params1.keys()
    for key in params0:
        assert torch.equal(params0[key], params1[key]), key
    # the memory bank too
    assert banks0.keys() == banks1.keys()
    assert (name == 'cmb') == bool(banks0)
    for key in banks0:
        assert torch.equal(banks0[key], banks1[key]), key
