"""Speed and memory of the vectorised ReCo loss against the per-class loop.

Times one forward + backward pass at the paper's settings (appendix A:
256 queries per class, 512 negative keys per query, D = 256; a Pascal VOC
batch of 20 images with 21 classes and 81 x 81 representations, i.e. a
321 x 321 crop at output stride 4) for
``mmseg_reco.models.losses.reco_loss.reco_loss`` and for the reference
``mmseg_reco.testing.reco_loss_reference``, which loops over classes and
draws negative keys query by query like the authors' ``compute_reco_loss``.

Both are timed with the default allocator. The reference reproduces the
authors' operations, including ``torch.cosine_similarity`` between the
queries (Q, 1, D) and the broadcast keys (Q, 1 + K, D), which dominates its
time. Peak extra memory of the vectorised loss is measured as follows:

* cuda: ``torch.cuda.max_memory_allocated()`` during one forward +
  backward, minus the memory allocated just before (inputs and an
  existing ``rep.grad``), i.e. every tensor the loss allocates, including
  the rep-sized gradient the backward produces;
* cpu: in a child process, the peak resident set (``VmHWM`` of
  ``/proc/self/status``, reset through ``/proc/self/clear_refs``) during
  one forward + backward, minus the resident set just before (inputs and
  an existing ``rep.grad`` resident). The child runs with glibc's
  ``MALLOC_MMAP_THRESHOLD_`` pinned at 64 KiB so that freed tensors are
  returned to the system and the resident set follows the live tensors.

The last line printed is the headline wall-clock speed-up,
``speed-up (wall): <x>x``.

Example::

    python benchmarks/reco_loss.py                 # cpu, 1-3 minutes
    python benchmarks/reco_loss.py --device cuda
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import torch

from mmseg_reco.models.losses.reco_loss import reco_loss
from mmseg_reco.testing import reco_loss_reference

_MMAP_ENV = 'MALLOC_MMAP_THRESHOLD_'
_MMAP_THRESHOLD = str(64 * 1024)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--batch', type=int, default=20)
    parser.add_argument('--classes', type=int, default=21)
    parser.add_argument('--size', type=int, default=81)
    parser.add_argument('--dim', type=int, default=256)
    parser.add_argument('--queries', type=int, default=256)
    parser.add_argument('--negatives', type=int, default=512)
    parser.add_argument(
        '--repeats',
        type=int,
        default=5,
        help='timed runs of the vectorised loss')
    parser.add_argument(
        '--ref-repeats',
        type=int,
        default=1,
        help='timed runs of the reference')
    parser.add_argument(
        '--warmup',
        type=int,
        default=1,
        help='untimed runs of the vectorised loss')
    parser.add_argument(
        '--ref-warmup',
        type=int,
        default=0,
        help='untimed runs of the reference (25-40 s of CPU time each)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--threads',
        type=int,
        default=0,
        help='CPU threads for both (0: torch default)')
    parser.add_argument(
        '--memory-child', action='store_true', help=argparse.SUPPRESS)
    return parser.parse_args()


def make_inputs(args, device):
    """Label maps made of regions, class-dependent features, soft probs.

    Returns:
        tuple: rep (N, D, h, w) float32 leaf, label (N, h, w) long with a
        few ignored pixels, prob (N, C, h, w) softmax probabilities of
        which about half of the pixels exceed 0.97 for their own class.
    """
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(args.seed)
    n, c, s, d = args.batch, args.classes, args.size, args.dim
    cells = torch.randint(0, c, (n, 1, 9, 9), generator=gen).float()
    label = F.interpolate(cells, size=(s, s), mode='nearest')[:, 0].long()
    label[:, :, :2] = 255  # an ignored border
    class_mean = torch.randn(c, d, generator=gen)
    rep = class_mean[label.clamp(max=c - 1)].permute(0, 3, 1, 2)
    rep = rep + 2.0 * torch.randn(n, d, s, s, generator=gen)
    margin = 6.0 * torch.rand(n, 1, s, s, generator=gen)
    logits = torch.randn(n, c, s, s, generator=gen)
    logits.scatter_add_(1, label.clamp(max=c - 1).unsqueeze(1), margin)
    prob = torch.softmax(logits, dim=1)
    rep = rep.to(device).requires_grad_(True)
    return rep, label.to(device), prob.to(device)


def _status_kib(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'{field} not in /proc/self/status')


def options_of(args):
    return dict(num_queries=args.queries, num_negatives=args.negatives)


def run_vectorised(rep, label, prob, options):
    loss, _ = reco_loss(rep, label, prob, **options)
    loss.backward()
    return loss.detach()


def run_reference(rep, label, prob, options):
    loss = reco_loss_reference(rep, label, prob, **options)
    loss.backward()
    return loss.detach()


def peak_extra_cpu(args):
    """Child process body: print the peak extra resident bytes."""
    rep, label, prob = make_inputs(args, torch.device('cpu'))
    options = options_of(args)
    run_vectorised(rep, label, prob, options)  # warm-up, allocates grad
    rep.grad.zero_()
    base = _status_kib('VmRSS')
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    run_vectorised(rep, label, prob, options)
    print((_status_kib('VmHWM') - base) * 1024)


def peak_extra(args, rep, label, prob):
    """Peak extra bytes of one vectorised forward + backward, and how."""
    if rep.device.type == 'cuda':
        run_vectorised(rep, label, prob, options_of(args))
        rep.grad.zero_()
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        run_vectorised(rep, label, prob, options_of(args))
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base,
                'torch.cuda.max_memory_allocated minus allocated before')
    env = dict(os.environ, **{_MMAP_ENV: _MMAP_THRESHOLD})
    child = subprocess.run(
        [sys.executable,
         os.path.abspath(__file__), '--memory-child'] + sys.argv[1:],
        env=env,
        check=True,
        capture_output=True,
        text=True)
    extra = int(child.stdout.strip().splitlines()[-1])
    return extra, (f'child process: peak RSS (VmHWM) minus RSS before, '
                   f'{_MMAP_ENV}={_MMAP_THRESHOLD}')


def main():
    args = parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.memory_child:
        peak_extra_cpu(args)
        return

    device = torch.device(args.device)
    rep, label, prob = make_inputs(args, device)
    options = options_of(args)

    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize()

    def timed(fn, warmup, repeats):
        for _ in range(warmup):
            fn(rep, label, prob, options)
        seconds, cpu_seconds, values = [], [], []
        for _ in range(repeats):
            rep.grad = None
            sync()
            start, cpu_start = time.perf_counter(), time.process_time()
            values.append(fn(rep, label, prob, options).item())
            sync()
            seconds.append(time.perf_counter() - start)
            cpu_seconds.append(time.process_time() - cpu_start)
        return (statistics.median(seconds), statistics.median(cpu_seconds),
                statistics.mean(values))

    torch.manual_seed(args.seed)
    present = torch.unique(label[label < args.classes]).numel()
    threads = (f'{torch.get_num_threads()} threads'
               if device.type == 'cpu' else torch.cuda.get_device_name())
    print(f'device: {device.type} ({threads}), torch {torch.__version__}, '
          f'load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs')
    print(f'settings: N={args.batch} C={args.classes} '
          f'{args.size}x{args.size} D={args.dim} Q={args.queries} '
          f'K={args.negatives}; classes present: {present}')

    vec_s, vec_cpu, vec_loss = timed(run_vectorised, args.warmup, args.repeats)
    print(f'vectorised forward+backward: {vec_s:.3f} s wall, '
          f'{vec_cpu:.3f} s process CPU (median of {args.repeats} after '
          f'{args.warmup} warm-up; loss {vec_loss:.4f})')
    extra, how = peak_extra(args, rep, label, prob)
    print(f'peak extra memory (vectorised, fwd+bwd incl. the rep-sized '
          f'gradient): {extra / 2**20:.1f} MiB [{how}]')
    ref_s, ref_cpu, ref_loss = timed(run_reference, args.ref_warmup,
                                     args.ref_repeats)
    print(f'reference forward+backward: {ref_s:.3f} s wall, '
          f'{ref_cpu:.3f} s process CPU (median of {args.ref_repeats} after '
          f'{args.ref_warmup} warm-up; loss {ref_loss:.4f})')
    if device.type == 'cpu':
        print(f'process CPU time ratio: {ref_cpu / vec_cpu:.1f}; '
              f'load average now {os.getloadavg()[0]:.1f}')
    print(f'speed-up (wall): {ref_s / vec_s:.1f}x')


if __name__ == '__main__':
    main()
