"""Speed and memory of the class-wise memory bank step against loops.

Times, at the paper's Cityscapes settings (Alonso et al., ICCV 2021,
section 4.2: C = 19 classes, psi = 256 entries per class, D = 256; a batch
of 7 crops of 512 x 512 at output stride 8, i.e. 64 x 64 features):

* the contrastive loss, forward + backward (Eq. 8-11):
  ``mmseg_reco.models.losses.cmb_loss.cmb_contrastive_loss`` against
  ``mmseg_reco.testing.cmb_reference.cmb_contrastive_loss_reference``
  (a loop over classes with the full prediction x entry distance matrix);
* the bank update (section 3.4): top-K per image and class of the
  candidates that pass the quality filter, then the push into the FIFO
  queues: ``topk_per_image_class`` + ``ClassMemoryBank.push`` against
  ``topk_per_image_class_reference`` (loops over images and classes) +
  ``bank_push_reference`` (a loop over classes, one row at a time).

The bank starts full (the steady state of training). Both versions are
first run once from the same state and compared (loss and bank). Peak
extra memory of the vectorised step (loss forward + backward and update) is
measured with :mod:`mmseg_reco.testing.memory`: on cuda the peak allocated
memory minus the memory allocated before; on cpu the peak resident set of
a child process minus its resident set before (see that module).

The last line printed is the headline wall-clock speed-up of the whole
step, ``speed-up: <x>x``.

Example::

    python benchmarks/cmb_loss.py                 # cpu, well under a minute
    python benchmarks/cmb_loss.py --device cuda
"""
import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from mmseg_reco.models.losses.cmb_loss import cmb_contrastive_loss
from mmseg_reco.models.utils.memory_bank import (ClassMemoryBank,
                                                 topk_per_image_class)
from mmseg_reco.testing.cmb_reference import (bank_push_reference,
                                              cmb_contrastive_loss_reference,
                                              topk_per_image_class_reference)
from mmseg_reco.testing.memory import (cuda_peak_extra, rss_peak_extra,
                                       run_memory_child)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--batch', type=int, default=7)
    parser.add_argument('--classes', type=int, default=19)
    parser.add_argument(
        '--size', type=int, default=64, help='feature side (512 / 8)')
    parser.add_argument('--dim', type=int, default=256)
    parser.add_argument('--bank-size', type=int, default=256, help='psi')
    parser.add_argument(
        '--topk',
        type=int,
        default=2,
        help='K per image and class (psi // |X_l|: 2 for Cityscapes 1/30)')
    parser.add_argument(
        '--fqf-rate',
        type=float,
        default=0.7,
        help='fraction of candidates that pass the quality filter')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--ref-repeats', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
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
    """Region label maps, class-dependent features, a full bank.

    Returns:
        dict: ``pred`` (M, D) leaf, ``labels`` (M,) with a few -1,
        ``pred_scores`` (M,) leaf, ``bank`` (C, psi, D), ``bank_scores``
        (C, psi) leaf, and the candidates ``cand`` (M, D), ``cand_scores``,
        ``cand_labels`` (N, h*w) and ``fqf`` (N, h*w) bool.
    """
    gen = torch.Generator().manual_seed(args.seed)
    n, c, s, d = args.batch, args.classes, args.size, args.dim
    cells = torch.randint(0, c, (n, 1, 8, 8), generator=gen).float()
    label = F.interpolate(cells, size=(s, s), mode='nearest')[:, 0].long()
    label[:, :, :2] = -1  # ignored border
    class_mean = torch.randn(c, d, generator=gen)
    rows = class_mean[label.clamp(min=0)].reshape(-1, d)
    pred = rows + 2.0 * torch.randn(rows.shape, generator=gen)
    cand = rows + 2.0 * torch.randn(rows.shape, generator=gen)
    bank = class_mean[:, None] + 2.0 * torch.randn(
        c, args.bank_size, d, generator=gen)
    inputs = dict(
        pred=pred,
        labels=label.reshape(-1),
        pred_scores=torch.rand(pred.shape[0], generator=gen) * 0.9 + 0.05,
        bank=bank,
        bank_scores=torch.rand(c, args.bank_size, generator=gen) * 0.9 +
        0.05,
        cand=cand,
        cand_scores=torch.rand(n, s * s, generator=gen),
        cand_labels=label.reshape(n, -1),
        fqf=torch.rand(n, s * s, generator=gen) < args.fqf_rate)
    inputs = {k: v.to(device) for k, v in inputs.items()}
    for key in ('pred', 'pred_scores', 'bank_scores'):
        inputs[key].requires_grad_(True)
    return inputs


def make_bank(args, inputs):
    bank = ClassMemoryBank(args.classes, args.dim, args.bank_size).to(
        inputs['bank'].device)
    bank.bank.copy_(inputs['bank'])
    bank.count.fill_(args.bank_size)
    return bank


def select(inputs, index, keep, classes):
    """Gather the (N, C, K) candidates; labels -1 where not kept."""
    num, _, k = index.shape
    dim = inputs['cand'].shape[1]
    rows = inputs['cand'].view(num, -1, dim)
    sel = rows.gather(1, index.flatten(1)[..., None].expand(-1, -1, dim))
    cls = torch.arange(classes, device=index.device)[None, :, None]
    labels = torch.where(keep, cls, torch.full_like(index, -1))
    return sel.reshape(-1, dim), labels.reshape(-1)


def vectorised_loss(inputs, bank):
    entries, valid = bank.entries()
    loss = cmb_contrastive_loss(inputs['pred'], inputs['labels'],
                                inputs['pred_scores'], entries, valid,
                                inputs['bank_scores'])['loss']
    loss.backward()
    return loss.detach()


def vectorised_update(inputs, bank, k):
    index, keep = topk_per_image_class(inputs['cand_scores'],
                                       inputs['cand_labels'], inputs['fqf'],
                                       k, bank.num_classes)
    feats, labels = select(inputs, index, keep, bank.num_classes)
    bank.push(feats, labels, gather=False)


def reference_loss(inputs, bank):
    entries, valid = bank.entries()
    loss = cmb_contrastive_loss_reference(inputs['pred'], inputs['labels'],
                                          inputs['pred_scores'], entries,
                                          valid, inputs['bank_scores'])
    loss.backward()
    return loss.detach()


def reference_update(inputs, bank, k):
    index, keep = topk_per_image_class_reference(inputs['cand_scores'],
                                                 inputs['cand_labels'],
                                                 inputs['fqf'], k,
                                                 bank.num_classes)
    feats, labels = select(inputs, index, keep, bank.num_classes)
    bank_push_reference(bank.bank, bank.ptr, bank.count, feats, labels)


def clear_grads(inputs):
    for key in ('pred', 'pred_scores', 'bank_scores'):
        inputs[key].grad = None


def memory_child(args):
    """Child process body: print the peak extra resident bytes."""
    inputs = make_inputs(args, torch.device('cpu'))
    bank = make_bank(args, inputs)

    def step():
        vectorised_loss(inputs, bank)
        vectorised_update(inputs, bank, args.topk)

    step()  # warm-up, allocates the gradients
    for key in ('pred', 'pred_scores', 'bank_scores'):
        inputs[key].grad.zero_()
    print(rss_peak_extra(step))


def main():
    args = parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.memory_child:
        memory_child(args)
        return

    device = torch.device(args.device)
    inputs = make_inputs(args, device)

    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize()

    def clock():
        sync()
        return time.perf_counter()

    # agreement from one common state
    bank_v, bank_r = make_bank(args, inputs), make_bank(args, inputs)
    loss_v = vectorised_loss(inputs, bank_v)
    grads_v = [inputs[k].grad for k in ('pred', 'pred_scores', 'bank_scores')]
    clear_grads(inputs)
    loss_r = reference_loss(inputs, bank_r)
    grads_r = [inputs[k].grad for k in ('pred', 'pred_scores', 'bank_scores')]
    clear_grads(inputs)
    vectorised_update(inputs, bank_v, args.topk)
    reference_update(inputs, bank_r, args.topk)
    grad_diff = max((a - b).abs().max().item() / b.abs().max().clamp(
        min=1e-30).item() for a, b in zip(grads_v, grads_r))
    bank_equal = (torch.equal(bank_v.bank, bank_r.bank)
                  and torch.equal(bank_v.ptr, bank_r.ptr)
                  and torch.equal(bank_v.count, bank_r.count))

    def timed(loss_fn, update_fn, warmup, repeats):
        bank = make_bank(args, inputs)
        loss_s, update_s = [], []
        for i in range(warmup + repeats):
            clear_grads(inputs)
            start = clock()
            loss_fn(inputs, bank)
            middle = clock()
            update_fn(inputs, bank, args.topk)
            end = clock()
            if i >= warmup:
                loss_s.append(middle - start)
                update_s.append(end - middle)
        return statistics.median(loss_s), statistics.median(update_s)

    present = torch.unique(inputs['labels'][inputs['labels'] >= 0]).numel()
    threads = (f'{torch.get_num_threads()} threads'
               if device.type == 'cpu' else torch.cuda.get_device_name())
    print(f'device: {device.type} ({threads}), torch {torch.__version__}, '
          f'load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs')
    print(f'settings: N={args.batch} C={args.classes} '
          f'{args.size}x{args.size} D={args.dim} psi={args.bank_size} '
          f'K={args.topk}; M={inputs["pred"].shape[0]} predictions, '
          f'classes present: {present}')
    print(f'agreement: loss {loss_v.item():.6f} vs reference '
          f'{loss_r.item():.6f}; max relative gradient difference '
          f'{grad_diff:.1e}; bank after the update identical: {bank_equal}')

    vec_loss, vec_update = timed(vectorised_loss, vectorised_update,
                                 args.warmup, args.repeats)
    ref_loss, ref_update = timed(reference_loss, reference_update, 1
                                 if args.ref_repeats > 1 else 0,
                                 args.ref_repeats)
    print(f'vectorised: loss fwd+bwd {vec_loss:.4f} s, bank update '
          f'{vec_update:.4f} s, total {vec_loss + vec_update:.4f} s '
          f'(median of {args.repeats} after {args.warmup} warm-up)')
    print(f'reference:  loss fwd+bwd {ref_loss:.4f} s, bank update '
          f'{ref_update:.4f} s, total {ref_loss + ref_update:.4f} s '
          f'(median of {args.ref_repeats})')
    print(f'ratio: loss {ref_loss / vec_loss:.1f}x, bank update '
          f'{ref_update / vec_update:.1f}x')

    if device.type == 'cuda':
        bank = make_bank(args, inputs)
        vectorised_loss(inputs, bank)
        for key in ('pred', 'pred_scores', 'bank_scores'):
            inputs[key].grad.zero_()

        def step():
            vectorised_loss(inputs, bank)
            vectorised_update(inputs, bank, args.topk)

        extra = cuda_peak_extra(step)
        how = 'torch.cuda.max_memory_allocated minus allocated before'
    else:
        extra, how = run_memory_child(__file__,
                                      ['--memory-child'] + sys.argv[1:])
    print(f'peak extra memory (vectorised loss fwd+bwd + update, incl. the '
          f'gradients): {extra / 2**20:.1f} MiB [{how}]')
    total_ref, total_vec = ref_loss + ref_update, vec_loss + vec_update
    print(f'speed-up: {total_ref / total_vec:.1f}x')


if __name__ == '__main__':
    main()
