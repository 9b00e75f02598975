"""RC2L demo configs trained and evaluated through ``tools/train.py``."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / 'data' / 'fashion_canvas'
SEMI = 'configs/rc2l/rc2l_region-r18_1xb4-1k_fashion-canvas-60lab.py'
SUPERVISED = ('configs/rc2l/supervised_region-r18_1xb4-1k_'
              'fashion-canvas-60lab.py')
NUM_LABELLED = 60

needs_data = pytest.mark.needs_data(
    DATA / 'splits' / 'train.txt',
    reason='demo data missing: run tools/prepare_demo.py')


def _splits(tmp_path: Path) -> dict:
    """A 60-image labelled split and the rest as unlabelled."""
    stems = (DATA / 'splits' / 'train.txt').read_text().split()
    labelled = tmp_path / 'labelled.txt'
    unlabelled = tmp_path / 'unlabelled.txt'
    labelled.write_text('\n'.join(stems[:NUM_LABELLED]) + '\n')
    unlabelled.write_text('\n'.join(stems[NUM_LABELLED:]) + '\n')
    return dict(labelled=labelled, unlabelled=unlabelled)


def _train(tmp_path: Path, config: str, iters: int, val_images: int = 0):
    """Run tools/train.py; returns the logged scalars (one dict per line)."""
    splits = _splits(tmp_path)
    work_dir = tmp_path / 'work'
    options = [
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={iters if val_images else 10**6}',
        'default_hooks.logger.interval=1',
        f'default_hooks.checkpoint.interval={iters}',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        f'val_dataloader.dataset.indices={max(val_images, 1)}',
        f'train_dataloader.dataset.datasets.0.ann_file={splits["labelled"]}',
        'train_dataloader.dataset.datasets.1.ann_file='
        f'{splits["unlabelled"]}',
        'train_dataloader.dataset.datasets.1.img_suffix=.png',
        'randomness.seed=0',
    ]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [
            sys.executable, 'tools/train.py', config, '--work-dir',
            str(work_dir), '--cfg-options', *options
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    scalars = sorted(work_dir.glob('*/vis_data/scalars.json'))
    assert scalars, 'no scalars.json written'
    return [
        json.loads(line) for line in scalars[-1].read_text().splitlines()
        if line.strip()
    ]


def _train_logs(records):
    return [r for r in records if 'loss' in r]


@needs_data
def test_rc2l_demo_two_iterations(tmp_path):
    logs = _train_logs(_train(tmp_path, SEMI, iters=2))
    assert len(logs) == 2
    for record in logs:
        assert math.isfinite(record['loss'])
        for key in ('sup_decode.loss_cls', 'sup_decode.loss_mask',
                    'sup_decode.loss_dice', 'unsup_loss_rmc',
                    'unsup_loss_rfc', 'unsup_loss_rcc', 'unsup_loss_smc',
                    'unsup_num_regions'):
            assert key in record, key


@pytest.mark.slow
@needs_data
def test_rc2l_demo_twenty_iterations_and_teacher_evaluation(tmp_path):
    records = _train(tmp_path, SEMI, iters=20, val_images=30)
    logs = _train_logs(records)
    assert len(logs) == 20
    assert all(math.isfinite(r['loss']) for r in logs)
    metrics = [r for r in records if 'mIoU' in r]
    assert metrics and 0 <= metrics[-1]['mIoU'] <= 100


@pytest.mark.slow
@needs_data
def test_supervised_region_demo_lowers_the_loss(tmp_path):
    logs = _train_logs(_train(tmp_path, SUPERVISED, iters=40))
    assert len(logs) == 40
    first = sum(r['loss'] for r in logs[:5]) / 5
    last = sum(r['loss'] for r in logs[-5:]) / 5
    assert last < first


def test_demo_region_models_train_the_backbone_at_a_tenth_of_the_lr():
    """RC2L and its supervised baseline share the optimiser; the pre-trained
    backbone learns at 0.1 x the head's rate (the paper's multiplier)."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmseg_reco  # noqa: F401
    init_default_scope('mmseg')
    configs = [Config.fromfile(str(ROOT / name)) for name in (SEMI,
                                                              SUPERVISED)]
    assert configs[0].optim_wrapper == configs[1].optim_wrapper
    cfg = configs[1]
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    names = {id(p): n for n, p in model.named_parameters()}
    base_lr = cfg.optim_wrapper.optimizer.lr
    seen = set()
    for group in wrapper.optimizer.param_groups:
        for param in group['params']:
            name = names[id(param)]
            part = 'backbone' if '.backbone.' in name else name.split('.')[1]
            expected = base_lr * (0.1 if part == 'backbone' else 1.0)
            assert group['lr'] == pytest.approx(expected), name
            seen.add(part)
    assert {'backbone', 'decode_head'} <= seen
