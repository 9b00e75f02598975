"""Peak memory of one training step per method at the paper's settings.

For each method, a child process builds the model of the paper config with
random weights (no pretrained download), builds its optimiser wrapper, and
runs one training step (forward, backward, optimiser step) on a synthetic
batch of the config's crop size (``--crop``: another size, for smoke tests):
uint8 images and, for the labelled half, labels made of random 8 x 8 class
blocks. The child reports its peak memory after building the model and
after the step: on the CPU its peak resident memory (``VmHWM`` of
``/proc/self/status``), with ``--device cuda`` the peak of the GPU memory
allocated by torch (``torch.cuda.max_memory_allocated``).

The paper's batches (e.g. 10 labelled + 10 unlabelled) take minutes per step
on a CPU, so the step is measured at ``--batches`` (default 2+2 and 3+3
images) and the peak at the config's batch is extrapolated linearly in the
batch size: activations grow linearly with the batch, weights and optimiser
state do not. Prints a markdown table; the measured and the extrapolated
figures are in separate columns; the last line is the headline: the
highest extrapolated peak. Exits with status 1 when a method failed.

    python benchmarks/peak_memory.py [--methods reco-classmix classmix ...|all]
        [--batches 1 2] [--amp] [--device cpu|cuda]
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

from mmseg_reco.testing.memory import status_kib

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: method -> paper config (Pascal VOC 2012 + SBD)
METHODS = {
    'supervised':
    'configs/baselines/supervised_deeplabv3plus-r101-d8_1xb20-40k_'
    'voc12aug-60lab.py',
    'classmix':
    'configs/baselines/classmix_deeplabv3plus-r101-d8_1xb10-40k_'
    'voc12aug-60lab.py',
    'reco-classmix':
    'configs/reco/reco-classmix_deeplabv3plus-r101-d8-rep_1xb10-40k_'
    'voc12aug-60lab.py',
    'cmb': 'configs/cmb/cmb_deeplabv3plus-r50-d8_1xb20-80k_voc12aug-1of8.py',
    'rc2l': 'configs/rc2l/rc2l_region-r101_1xb8-160k_voc12aug-1of8.py',
    's4gan': ('configs/s4gan/s4gan_deeplabv3plus-r101-d8_1xb10-40k_'
              'voc12aug-60lab.py'),
}
#: side of the random label blocks of the synthetic batch (pixels)
LABEL_BLOCK = 8


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--methods',
        nargs='+',
        default=['classmix', 'reco-classmix', 'cmb', 'rc2l', 's4gan'],
        choices=list(METHODS) + ['all'],
        help="'all': every method")
    parser.add_argument(
        '--batches',
        nargs='+',
        type=int,
        default=[2, 3],
        help='labelled images per measured batch (as many unlabelled for '
        'semi-supervised configs)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision: bfloat16 autocast on the CPU, fp16 with '
        'dynamic loss scaling on CUDA (as tools/train.py --amp)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument(
        '--crop',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help="measure at this crop instead of the config's (smoke tests)")
    parser.add_argument('--child', help=argparse.SUPPRESS)
    parser.add_argument('--batch', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if 'all' in args.methods:
        args.methods = list(METHODS)
    return args


def vm_hwm_mib() -> float:
    """Peak resident set size of this process in MiB (``VmHWM``)."""
    return status_kib('VmHWM') / 1024


def config_settings(cfg) -> dict:
    """Crop, labelled and total batch size of a training config."""
    loader = cfg.train_dataloader
    sampler = loader.sampler
    semi = sampler.get('type') == 'LabelledUnlabelledSampler'
    datasets = (loader.dataset.datasets
                if loader.dataset.get('type') == 'ConcatDataset' else
                [loader.dataset])
    crop = None
    for step in datasets[0].pipeline:
        if step['type'] == 'RandomCrop':
            crop = tuple(step['crop_size'])
    batch = sampler.batch_size if semi else loader.batch_size
    labelled = sampler.num_labelled if semi else batch
    return dict(crop=crop, batch=batch, labelled=labelled, semi=semi)


def peak_mib(device: str) -> float:
    """Peak memory so far in MiB: resident (CPU) or allocated on the GPU."""
    if device == 'cuda':
        import torch
        return torch.cuda.max_memory_allocated() / 2**20
    return vm_hwm_mib()


def child(config: str, labelled: int, amp: bool, device: str = 'cpu',
          crop=None) -> dict:
    """One training step of ``config``; returns the memory figures."""
    import torch
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample

    import mmseg_reco  # noqa: F401 (registers the components)

    torch.manual_seed(0)
    cfg = Config.fromfile(osp.join(REPO, config))
    init_default_scope('mmseg')
    settings = config_settings(cfg)
    model_cfg = cfg.model
    segmentor = model_cfg.get('segmentor', model_cfg)
    segmentor.pretrained = None
    segmentor.backbone.init_cfg = None
    for loss in model_cfg.get('method_losses', None) or []:
        if loss.get('type') == 'CMBTerm' and not loss.get('topk'):
            # |X_l| of the 1/8 split (MemoryBankHook sets it in a Runner)
            loss['num_labelled_images'] = 1323
    if device == 'cuda':
        if not torch.cuda.is_available():
            raise SystemExit('--device cuda: no CUDA device')
        torch.cuda.reset_peak_memory_stats()
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.to(device)
    model.train()
    optim_cfg = cfg.optim_wrapper
    if amp:
        optim_cfg = _autocast(optim_cfg, device)
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    built = peak_mib(device)

    if crop:
        settings['crop'] = tuple(crop)
    h, w = settings['crop']
    unlabelled = labelled if settings['semi'] else 0
    num_classes = _num_classes(segmentor)
    inputs, samples = [], []
    for i in range(labelled + unlabelled):
        inputs.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8))
        sample = SegDataSample(
            metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                          pad_shape=(h, w), img_path=f'synthetic_{i}.jpg'))
        if i < labelled:
            blocks = torch.randint(0, num_classes,
                                   (1, -(-h // LABEL_BLOCK),
                                    -(-w // LABEL_BLOCK)))
            label = blocks.repeat_interleave(LABEL_BLOCK, 1).repeat_interleave(
                LABEL_BLOCK, 2)[:, :h, :w]
            sample.gt_sem_seg = PixelData(data=label.long())
        samples.append(sample)
    start = time.perf_counter()
    log = model.train_step(
        dict(inputs=inputs, data_samples=samples), optim_wrapper)
    if device == 'cuda':
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return dict(
        built_mib=built,
        peak_mib=peak_mib(device),
        seconds=seconds,
        finite=all(bool(torch.isfinite(v).all()) for v in log.values()),
        **settings)


def _num_classes(segmentor) -> int:
    head = segmentor.decode_head
    while 'num_classes' not in head and 'decode_head' in head:
        head = head.decode_head
    return head.num_classes


def _autocast(optim_cfg, device: str = 'cpu'):
    """Mixed-precision wrappers, as ``tools/train.py --amp``: bfloat16
    autocast on the CPU, fp16 with dynamic loss scaling on CUDA."""
    import copy
    optim_cfg = copy.deepcopy(optim_cfg)
    wrappers = [optim_cfg] if 'optimizer' in optim_cfg else [
        value for value in optim_cfg.values()
        if isinstance(value, dict) and 'optimizer' in value
    ]
    for wrapper in wrappers:
        if device == 'cuda':
            wrapper.type = 'AmpOptimWrapper'
            wrapper.setdefault('loss_scale', 'dynamic')
        else:
            wrapper.type = 'AutocastOptimWrapper'
    return optim_cfg


def run_child(method: str, labelled: int, amp: bool, device: str = 'cpu',
              crop=None) -> dict:
    cmd = [
        sys.executable,
        osp.abspath(__file__), '--child', METHODS[method], '--batch',
        str(labelled), '--device', device
    ] + (['--amp'] if amp else []) + (
        ['--crop', str(crop[0]), str(crop[1])] if crop else [])
    proc = subprocess.run(
        cmd, capture_output=True, text=True, cwd=REPO, env=os.environ)
    if proc.returncode != 0:
        raise RuntimeError(f'{method} (batch {labelled}) failed:\n'
                           f'{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    args = parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.batch, args.amp, args.device,
                               args.crop)))
        return
    import torch
    if args.device == 'cuda':
        if not torch.cuda.is_available():
            raise SystemExit('--device cuda: no CUDA device')
        where = (f'{torch.cuda.get_device_name()}, peak GPU memory '
                 'allocated by torch')
        precision = 'fp16 autocast' if args.amp else 'float32'
    else:
        where = (f'CPU ({torch.get_num_threads()} threads), peak resident '
                 'memory')
        precision = 'bfloat16 autocast' if args.amp else 'float32'
    crop = f', crop {args.crop[0]}x{args.crop[1]}' if args.crop else ''
    print(f'device: {where}, {precision}; one step (forward + backward + '
          f'optimiser step), random weights, synthetic batch{crop}')
    header = ('| method | config | crop | paper batch (l+u) | '
              + ' | '.join(f'peak at {b}+{b} (MiB)' for b in args.batches)
              + ' | s/step at largest | peak at paper batch (MiB, '
              'extrapolated) |')
    rows, failed, paper_peaks, measured = [], [], {}, {}
    for method in args.methods:
        try:
            results = [
                run_child(method, b, args.amp, args.device, args.crop)
                for b in args.batches
            ]
        except RuntimeError as error:
            print(error, file=sys.stderr)
            rows.append(f'| {method} | `{osp.basename(METHODS[method])}` '
                        '| failed |')
            failed.append(method)
            continue
        first, last = results[0], results[-1]
        measured[method] = last['peak_mib']
        paper_l = first['labelled']
        paper_u = first['batch'] - paper_l
        if len(results) > 1 and args.batches[-1] != args.batches[0]:
            slope = (last['peak_mib'] - first['peak_mib']) / (
                args.batches[-1] - args.batches[0])
            paper = first['peak_mib'] + slope * (paper_l - args.batches[0])
            paper_s = f'{paper:.0f}'
            paper_peaks[method] = paper
        else:
            paper_s = 'n/a'
        crop = 'x'.join(str(c) for c in first['crop'])
        semi = first['semi']
        rows.append(f'| {method} | `{osp.basename(METHODS[method])}` | '
                    f'{crop} | {paper_l}+{paper_u} | ' + ' | '.join(
                        f'{r["peak_mib"]:.0f}' for r in results) +
                    f' | {last["seconds"]:.1f} | {paper_s} |')
        if not semi:
            rows[-1] += ' (labelled only)'
        print(rows[-1], flush=True)
    print()
    print(header)
    print('|' + ' --- |' * (header.count('|') - 1))
    for row in rows:
        print(row)
    if failed:
        print(f'failed: {" ".join(failed)}')
        sys.exit(1)
    if paper_peaks:
        top = max(paper_peaks, key=paper_peaks.get)
        print(f'highest peak at the paper batch: {top} '
              f'{paper_peaks[top]:.0f} MiB (extrapolated)')
    else:
        top = max(measured, key=measured.get)
        print(f'highest measured peak: {top} {measured[top]:.0f} MiB at '
              f'{args.batches[-1]}+{args.batches[-1]}')


if __name__ == '__main__':
    main()
