"""Speed and memory of the class-wise memory bank step against loops.

Times the whole memory-bank step as training runs it (``CMBTerm``), at the
paper's Cityscapes settings (Alonso et al., ICCV 2021, section 4.2: C = 19
classes, psi = 256 entries per class, D = 256; a batch of 7 crops of
512 x 512 at output stride 8, i.e. 64 x 64 features):

* the loss: the class-wise attention scores of the student's rows
  (``pred_attention``, train mode) and of the bank entries
  (``proj_attention``), then the contrastive loss (Eq. 8-11), forward +
  backward through the attention modules:
  :class:`~mmseg_reco.models.decode_heads.cmb_head.ClassWiseAttention` +
  ``cmb_contrastive_loss`` against one ``Linear-BN-LeakyReLU-Linear-
  Sigmoid`` module per class run on its class's rows (the authors'
  per-class heads) + ``cmb_contrastive_loss_reference`` (a loop over
  classes with the full prediction x entry distance matrix);
* the bank update (section 3.4): the candidates scored by the attention
  (no gradient), top-K per image and class of those that pass the quality
  filter, then the push into the FIFO queues: ``ClassWiseAttention`` +
  ``topk_per_image_class`` + ``ClassMemoryBank.push`` against the
  per-class modules + ``topk_per_image_class_reference`` (loops over
  images and classes) + ``bank_push_reference`` (a loop over classes, one
  row at a time).

Both sides get the same warm-up and repeats (``--warmup``, ``--repeats``).

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

from mmseg_reco.models.decode_heads.cmb_head import ClassWiseAttention
from mmseg_reco.models.losses.cmb_losses import cmb_contrastive_loss
from mmseg_reco.models.utils.memory_bank import (ClassMemoryBank,
                                                 topk_per_image_class)
from mmseg_reco.testing.cmb_reference import (
    bank_push_reference, class_wise_attention_modules,
    cmb_contrastive_loss_reference, topk_per_image_class_reference)
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
    parser.add_argument('--hidden', type=int, default=256,
                        help='hidden width of the attention modules')
    parser.add_argument('--repeats', type=int, default=3)
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
        ``bank`` (C, psi, D), and the candidates ``cand`` (M, D),
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
        bank=bank,
        cand=cand,
        cand_labels=label.reshape(n, -1),
        fqf=torch.rand(n, s * s, generator=gen) < args.fqf_rate)
    inputs = {k: v.to(device) for k, v in inputs.items()}
    inputs['pred'].requires_grad_(True)
    return inputs


def make_attention(args, device):
    """The prediction and projection attention (ClassWiseAttention, train
    mode) and the same weights as one module per class each."""
    torch.manual_seed(args.seed)
    pair = []
    for _ in range(2):
        attention = ClassWiseAttention(args.classes, args.dim,
                                       args.hidden).to(device)
        with torch.no_grad():
            attention.bn_weight.uniform_(0.5, 1.5)
            attention.bn_bias.normal_(0, 0.1)
        pair.append(attention)
    return pair, [class_wise_attention_modules(a) for a in pair]


def loop_scores(modules, rows, labels, valid):
    """Score each row with its class's module, class by class."""
    scores = rows.new_zeros(rows.shape[0])
    for c, module in enumerate(modules):
        member = (labels == c) & valid
        if member.sum() > 1:  # BatchNorm1d needs two rows in train mode
            scores = scores.index_put((member.nonzero()[:, 0], ),
                                      module(rows[member])[:, 0])
    return scores


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


def _bank_classes(bank):
    return torch.arange(bank.num_classes,
                        device=bank.bank.device).repeat_interleave(
                            bank.bank.shape[1])


def vectorised_loss(inputs, bank, attention):
    pred_att, proj_att = attention
    labels = inputs['labels']
    valid = labels >= 0
    pred_scores = pred_att(inputs['pred'].detach(), labels, valid)
    entries, entry_valid = bank.entries()
    bank_scores = proj_att(
        entries.reshape(-1, entries.shape[-1]), _bank_classes(bank),
        entry_valid.reshape(-1)).view_as(entry_valid)
    loss = cmb_contrastive_loss(inputs['pred'], labels, pred_scores, entries,
                                entry_valid, bank_scores)['loss']
    loss.backward()
    return loss.detach()


def vectorised_update(inputs, bank, attention, k):
    with torch.no_grad():
        scores = attention[1](inputs['cand'], inputs['cand_labels'].reshape(
            -1), inputs['fqf'].reshape(-1)).view_as(inputs['fqf'])
    index, keep = topk_per_image_class(scores, inputs['cand_labels'],
                                       inputs['fqf'], k, bank.num_classes)
    feats, labels = select(inputs, index, keep, bank.num_classes)
    bank.push(feats, labels, gather=False)


def reference_loss(inputs, bank, modules):
    pred_mods, proj_mods = modules
    labels = inputs['labels']
    pred_scores = loop_scores(pred_mods, inputs['pred'].detach(), labels,
                              labels >= 0)
    entries, entry_valid = bank.entries()
    bank_scores = loop_scores(
        proj_mods, entries.reshape(-1, entries.shape[-1]),
        _bank_classes(bank), entry_valid.reshape(-1)).view_as(entry_valid)
    loss = cmb_contrastive_loss_reference(inputs['pred'], labels,
                                          pred_scores, entries, entry_valid,
                                          bank_scores)
    loss.backward()
    return loss.detach()


def reference_update(inputs, bank, modules, k):
    with torch.no_grad():
        scores = loop_scores(modules[1], inputs['cand'],
                             inputs['cand_labels'].reshape(-1),
                             inputs['fqf'].reshape(-1)).view_as(inputs['fqf'])
    index, keep = topk_per_image_class_reference(scores,
                                                 inputs['cand_labels'],
                                                 inputs['fqf'], k,
                                                 bank.num_classes)
    feats, labels = select(inputs, index, keep, bank.num_classes)
    bank_push_reference(bank.bank, bank.ptr, bank.count, feats, labels)


def clear_grads(inputs, *modules):
    inputs['pred'].grad = None
    for module in modules:
        for p in module.parameters():
            p.grad = None


def attention_grads(pair):
    return [p.grad for a in pair for p in (a.weight1, a.bn_weight)]


def loop_grads(pair):
    return [
        torch.stack([getattr(m[i], 'weight').grad for m in mods])
        for mods in pair for i in (0, 1)
    ]


def memory_child(args):
    """Child process body: print the peak extra resident bytes."""
    inputs = make_inputs(args, torch.device('cpu'))
    bank = make_bank(args, inputs)
    attention, _ = make_attention(args, torch.device('cpu'))

    def step():
        vectorised_loss(inputs, bank, attention)
        vectorised_update(inputs, bank, attention, args.topk)

    step()  # warm-up, allocates the gradients
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
    attention, modules = make_attention(args, device)
    bank_v, bank_r = make_bank(args, inputs), make_bank(args, inputs)
    loss_v = vectorised_loss(inputs, bank_v, attention)
    grads_v = [inputs['pred'].grad] + attention_grads(attention)
    clear_grads(inputs)
    loss_r = reference_loss(inputs, bank_r, modules)
    grads_r = [inputs['pred'].grad] + loop_grads(modules)
    vectorised_update(inputs, bank_v, attention, args.topk)
    reference_update(inputs, bank_r, modules, args.topk)
    grad_diff = max((a - b).abs().max().item() / b.abs().max().clamp(
        min=1e-30).item() for a, b in zip(grads_v, grads_r))
    bank_equal = (torch.equal(bank_v.bank, bank_r.bank)
                  and torch.equal(bank_v.ptr, bank_r.ptr)
                  and torch.equal(bank_v.count, bank_r.count))

    def timed(loss_fn, update_fn, nets, warmup, repeats):
        bank = make_bank(args, inputs)
        loss_s, update_s = [], []
        for i in range(warmup + repeats):
            clear_grads(inputs, *nets)
            start = clock()
            loss_fn(inputs, bank, nets)
            middle = clock()
            update_fn(inputs, bank, nets, args.topk)
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
          f'{args.size}x{args.size} D={args.dim} H={args.hidden} '
          f'psi={args.bank_size} K={args.topk}; M={inputs["pred"].shape[0]} '
          f'predictions, classes present: {present}')
    print(f'agreement: loss {loss_v.item():.6f} vs reference '
          f'{loss_r.item():.6f}; max relative gradient difference '
          f'(predictions, attention weights) {grad_diff:.1e}; bank after '
          f'the update identical: {bank_equal}')
    if not bank_equal or grad_diff > 1e-3 or not torch.isclose(
            loss_v, loss_r, rtol=1e-4):
        raise SystemExit('the vectorised step disagrees with the reference: '
                         'not timed')

    vec_loss, vec_update = timed(vectorised_loss, vectorised_update,
                                 attention, args.warmup, args.repeats)
    ref_loss, ref_update = timed(reference_loss, reference_update, modules,
                                 args.warmup, args.repeats)
    print(f'vectorised: attention + loss fwd+bwd {vec_loss:.4f} s, scoring '
          f'+ bank update {vec_update:.4f} s, total '
          f'{vec_loss + vec_update:.4f} s')
    print(f'reference:  attention + loss fwd+bwd {ref_loss:.4f} s, scoring '
          f'+ bank update {ref_update:.4f} s, total '
          f'{ref_loss + ref_update:.4f} s')
    print(f'(medians of {args.repeats} after {args.warmup} warm-up each); '
          f'ratio: loss {ref_loss / vec_loss:.1f}x, bank update '
          f'{ref_update / vec_update:.1f}x')

    if device.type == 'cuda':
        bank = make_bank(args, inputs)
        vectorised_loss(inputs, bank, attention)

        def step():
            vectorised_loss(inputs, bank, attention)
            vectorised_update(inputs, bank, attention, args.topk)

        extra = cuda_peak_extra(step)
        how = 'torch.cuda.max_memory_allocated minus allocated before'
    else:
        extra, how = run_memory_child(__file__,
                                      ['--memory-child'] + sys.argv[1:])
    print(f'peak extra memory (vectorised step, incl. the gradients): {extra / 2**20:.1f} MiB [{how}]')
    total_ref, total_vec = ref_loss + ref_update, vec_loss + vec_update
    print(f'speed-up: {total_ref / total_vec:.1f}x')


if __name__ == '__main__':
    main()
