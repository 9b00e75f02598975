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

Before timing, both are run on the same sampled queries and negative keys
(``sample_reco_indices``) and their losses and gradients compared; a
disagreement stops the benchmark.

Besides the loss alone, the whole ReCo term is timed as training runs it
(``ReCoTerm`` -> ``RepresentationHead.loss_rep_by_feat``: labels and
confidence mask at the 321 x 321 crop downsampled to the representation,
logits resized and turned into probabilities, then the loss, forward +
backward) against the same steps in the authors' form (one-hot labels
and mask interpolated, softmax, then the reference loss), with the same
warm-up and repeats.

The last line printed is the headline wall-clock speed-up of the loss,
``speed-up (wall): <x>x``.

Example::

    python benchmarks/reco_loss.py                 # cpu, 1-3 minutes
    python benchmarks/reco_loss.py --device cuda
"""
import argparse
import os
import statistics
import sys
import time

import torch

from mmseg_reco.models.losses.reco_loss import reco_loss
from mmseg_reco.testing import reco_loss_reference
from mmseg_reco.testing.memory import (cuda_peak_extra, rss_peak_extra,
                                       run_memory_child)


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
        default=2,
        help='timed runs of each version (the reference takes 25-40 s of '
        'CPU time per run at the default settings)')
    parser.add_argument(
        '--warmup', type=int, default=1, help='untimed runs of each version')
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
    print(rss_peak_extra(lambda: run_vectorised(rep, label, prob, options)))


def peak_extra(args, rep, label, prob):
    """Peak extra bytes of one vectorised forward + backward, and how."""
    if rep.device.type == 'cuda':
        options = options_of(args)
        run_vectorised(rep, label, prob, options)  # warm-up, allocates grad
        rep.grad.zero_()
        return (cuda_peak_extra(
            lambda: run_vectorised(rep, label, prob, options)),
                'torch.cuda.max_memory_allocated minus allocated before')
    return run_memory_child(__file__, ['--memory-child'] + sys.argv[1:])


def check_agreement(rep, label, prob, options):
    """Loss and gradient of both on the same samples; raises if apart."""
    from mmseg_reco.models.losses.reco_loss import sample_reco_indices
    generator = torch.Generator(device=rep.device).manual_seed(0)
    samples = sample_reco_indices(rep, label, prob, None,
                                  generator=generator, **options)
    loss, _ = reco_loss(rep, label, prob, samples=samples, **options)
    loss.backward()
    grad, rep.grad = rep.grad, None
    ref = reco_loss_reference(rep, label, prob, samples=samples, **options)
    ref.backward()
    grad_diff = ((grad - rep.grad).abs().max() /
                 rep.grad.abs().max().clamp(min=1e-30)).item()
    rep.grad = None
    print(f'agreement on the same samples: loss {loss.item():.6f} vs '
          f'reference {ref.item():.6f}; max relative gradient difference '
          f'{grad_diff:.1e}')
    if abs(loss.item() - ref.item()) > 1e-4 * max(1.0, abs(ref.item())) \
            or grad_diff > 1e-3:
        raise SystemExit('the vectorised loss disagrees with the reference: '
                         'not timed')


def whole_term_inputs(rep, label, prob, crop=321):
    """The term's inputs: logits at the representation size, labels and
    confidence mask at the crop size."""
    import torch.nn.functional as F
    logits = torch.log(prob.clamp(min=1e-6)).detach().requires_grad_(True)
    full = F.interpolate(label[:, None].float(), size=(crop, crop),
                         mode='nearest')[:, 0].long()
    conf = torch.rand(full.shape, device=full.device,
                      generator=torch.Generator(
                          device=full.device).manual_seed(1))
    return logits, full, conf >= 0.3


def run_term(head, loss_module):
    def run(rep, logits, labels, valid):
        out = head.loss_rep_by_feat(logits, rep, labels, valid,
                                    loss_rep=loss_module)
        out['loss_reco'].backward()
        return out['loss_reco'].detach()
    return run


def run_term_reference(options, num_classes, ignore_index=255):
    """The authors' steps: one-hot labels and mask interpolated."""
    import torch.nn.functional as F

    def run(rep, logits, labels, valid):
        size = rep.shape[2:]
        with torch.no_grad():
            known = labels != ignore_index
            onehot = F.one_hot(labels.clamp(max=num_classes - 1),
                               num_classes).permute(0, 3, 1, 2).float()
            onehot = onehot * known[:, None]
            onehot = F.interpolate(onehot, size=size, mode='nearest')
            small = torch.where(onehot.sum(1) > 0, onehot.argmax(1),
                                torch.full_like(onehot[:, 0], ignore_index,
                                                dtype=torch.long))
            mask = F.interpolate(valid[:, None].float(), size=size,
                                 mode='nearest')[:, 0] > 0
        prob = torch.softmax(
            F.interpolate(logits, size=size, mode='bilinear',
                          align_corners=False), dim=1)
        loss = reco_loss_reference(rep, small, prob, mask, **options)
        loss.backward()
        return loss.detach()
    return run


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

    check_agreement(rep, label, prob, options)
    vec_s, vec_cpu, vec_loss = timed(run_vectorised, args.warmup, args.repeats)
    print(f'vectorised forward+backward: {vec_s:.3f} s wall, '
          f'{vec_cpu:.3f} s process CPU (median of {args.repeats} after '
          f'{args.warmup} warm-up; loss {vec_loss:.4f})')
    extra, how = peak_extra(args, rep, label, prob)
    print(f'peak extra memory (vectorised, fwd+bwd incl. the rep-sized '
          f'gradient): {extra / 2**20:.1f} MiB [{how}]')
    ref_s, ref_cpu, ref_loss = timed(run_reference, args.warmup, args.repeats)
    print(f'reference forward+backward: {ref_s:.3f} s wall, '
          f'{ref_cpu:.3f} s process CPU (median of {args.repeats} after '
          f'{args.warmup} warm-up; loss {ref_loss:.4f})')
    if device.type == 'cpu':
        print(f'process CPU time ratio: {ref_cpu / vec_cpu:.1f}; '
              f'load average now {os.getloadavg()[0]:.1f}')

    # the whole term as ReCoTerm runs it
    from mmseg.registry import MODELS
    from mmseg_reco.testing.tiny_models import tiny_aspp_head
    head = MODELS.build(
        dict(type='RepresentationHead', decode_head=tiny_aspp_head(
            args.classes), rep_dim=args.dim, loss_rep=None)).to(device)
    loss_module = MODELS.build(dict(type='ReCoLoss', **options)).to(device)
    logits, labels, valid = whole_term_inputs(rep, label, prob)
    term_fns = dict(vectorised=run_term(head, loss_module),
                    reference=run_term_reference(options, args.classes))
    term_s = {}
    for name, fn in term_fns.items():
        warmup, repeats = args.warmup, args.repeats
        for _ in range(warmup):
            fn(rep, logits, labels, valid)
        times = []
        for _ in range(repeats):
            rep.grad = logits.grad = None
            sync()
            start = time.perf_counter()
            fn(rep, logits, labels, valid)
            sync()
            times.append(time.perf_counter() - start)
        term_s[name] = statistics.median(times)
    print(f'whole ReCo term (downsampling, masks, probabilities, loss fwd+'
          f'bwd): {term_s["vectorised"]:.3f} s vs reference '
          f'{term_s["reference"]:.3f} s wall: '
          f'{term_s["reference"] / term_s["vectorised"]:.1f}x')
    print(f'speed-up (wall): {ref_s / vec_s:.1f}x')


if __name__ == '__main__':
    main()
