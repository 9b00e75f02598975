"""Peak memory of one training step per method at the paper's settings.

For each method, a child process builds the model of the paper config with
random weights (no pretrained download), builds its optimiser wrapper, and
runs one training step (forward, backward, optimiser step) on a synthetic
batch of the config's crop size: uint8 images and, for the labelled half,
labels made of random 8 x 8 class blocks. The child reports its peak
resident memory (``VmHWM`` of ``/proc/self/status``) after building the
model and after the step.

The paper's batches (e.g. 10 labelled + 10 unlabelled) take minutes per step
on a CPU, so the step is measured at ``--batches`` (default 2+2 and 3+3
images) and the peak at the config's batch is extrapolated linearly in the
batch size: activations grow linearly with the batch, weights and optimiser
state do not. Prints a markdown table; the measured and the extrapolated
figures are in separate columns.

    python benchmarks/peak_memory.py [--methods reco-classmix classmix ...]
        [--batches 1 2] [--amp]
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
    'configs/baselines/supervised_deeplabv3plus-r101-d8_1xb20-40k_voc12aug-60lab.py',
    'classmix':
    'configs/baselines/classmix_deeplabv3plus-r101-d8_1xb10-40k_voc12aug-60lab.py',
    'reco-classmix':
    'configs/reco/reco-classmix_deeplabv3plus-r101-d8-rep_1xb10-40k_voc12aug-60lab.py',
    'cmb': 'configs/cmb/cmb_deeplabv3plus-r50-d8_1xb20-80k_voc12aug-1of8.py',
    'rc2l': 'configs/rc2l/rc2l_region-r101_1xb8-160k_voc12aug-1of8.py',
    's4gan': 'configs/s4gan/s4gan_deeplabv3plus-r101-d8_1xb10-40k_voc12aug-60lab.py',
}
#: side of the random label blocks of the synthetic batch (pixels)
LABEL_BLOCK = 8


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--methods',
        nargs='+',
        default=['classmix', 'reco-classmix', 'cmb', 'rc2l', 's4gan'],
        choices=list(METHODS))
    parser.add_argument(
        '--batches',
        nargs='+',
        type=int,
        default=[2, 3],
        help='labelled images per measured batch (as many unlabelled for '
        'semi-supervised configs)')
    parser.add_argument('--amp', action='store_true', help='bfloat16 autocast')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    parser.add_argument('--batch', type=int, help=argparse.SUPPRESS)
    return parser.parse_args()


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


def child(config: str, labelled: int, amp: bool) -> dict:
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
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.train()
    optim_cfg = cfg.optim_wrapper
    if amp:
        optim_cfg = _autocast(optim_cfg)
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    built = vm_hwm_mib()

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
    seconds = time.perf_counter() - start
    return dict(
        built_mib=built,
        peak_mib=vm_hwm_mib(),
        seconds=seconds,
        finite=all(bool(torch.isfinite(v).all()) for v in log.values()),
        **settings)


def _num_classes(segmentor) -> int:
    head = segmentor.decode_head
    while 'num_classes' not in head and 'decode_head' in head:
        head = head.decode_head
    return head.num_classes


def _autocast(optim_cfg):
    """bfloat16 autocast wrappers (as ``tools/train.py --amp`` on CPU)."""
    import copy
    optim_cfg = copy.deepcopy(optim_cfg)
    if 'optimizer' in optim_cfg:
        optim_cfg.type = 'AutocastOptimWrapper'
        return optim_cfg
    for key, value in optim_cfg.items():
        if isinstance(value, dict) and 'optimizer' in value:
            value.type = 'AutocastOptimWrapper'
    return optim_cfg


def run_child(method: str, labelled: int, amp: bool) -> dict:
    cmd = [
        sys.executable,
        osp.abspath(__file__), '--child', METHODS[method], '--batch',
        str(labelled)
    ] + (['--amp'] if amp else [])
    proc = subprocess.run(
        cmd, capture_output=True, text=True, cwd=REPO, env=os.environ)
    if proc.returncode != 0:
        raise RuntimeError(f'{method} (batch {labelled}) failed:\n'
                           f'{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    args = parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.batch, args.amp)))
        return
    import torch
    print(f'device: CPU ({torch.get_num_threads()} threads), '
          f'{"bfloat16 autocast" if args.amp else "float32"}; one step '
          f'(forward + backward + optimiser step), random weights, '
          f'synthetic batch')
    header = ('| method | config | crop | paper batch (l+u) | '
              + ' | '.join(f'peak at {b}+{b} (MiB)' for b in args.batches)
              + ' | s/step at largest | peak at paper batch (MiB, '
              'extrapolated) |')
    rows = []
    for method in args.methods:
        try:
            results = [run_child(method, b, args.amp) for b in args.batches]
        except RuntimeError as error:
            print(error, file=sys.stderr)
            rows.append(f'| {method} | `{osp.basename(METHODS[method])}` '
                        '| failed |')
            continue
        first, last = results[0], results[-1]
        paper_l = first['labelled']
        paper_u = first['batch'] - paper_l
        if len(results) > 1 and args.batches[-1] != args.batches[0]:
            slope = (last['peak_mib'] - first['peak_mib']) / (
                args.batches[-1] - args.batches[0])
            paper = first['peak_mib'] + slope * (paper_l - args.batches[0])
            paper_s = f'{paper:.0f}'
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


if __name__ == '__main__':
    main()
