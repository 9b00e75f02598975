"""Small in-process training runs on the demo data for the reliability tests.

Every method's demo config is shrunk to a batch of 4 (2 labelled + 2
unlabelled for the semi-supervised ones) of 32 x 32 crops, no workers, no
validation, and run for a few iterations with mmengine's Runner.
:class:`Recorder` keeps each iteration's logged values and image paths.
"""
import functools
import importlib
import os.path as osp
import pkgutil
from typing import Dict, List, Optional

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmseg_reco


def import_all_modules() -> None:
    """Import every module of the package, so that every component is
    registered whether or not its sub-package exports it."""
    for info in pkgutil.walk_packages(mmseg_reco.__path__, 'mmseg_reco.'):
        importlib.import_module(info.name)


import_all_modules()

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'data/fashion_canvas')

requires_demo = pytest.mark.needs_data(
    osp.join(DEMO, 'splits/labelled-60.txt'),
    reason='demo data missing: run tools/prepare_demo.py')

#: The demo config of every method (name -> path under the repository).
METHOD_CONFIGS = {
    'reco-sup':
    'configs/reco/reco-sup_deeplabv3plus-r18-d8-rep_1xb8-1k_'
    'fashion-canvas-full.py',
    'reco-classmix':
    'configs/reco/'
    'reco-classmix_deeplabv3plus-r18-d8-rep_1xb4-1k_fashion-canvas-60lab.py',
    'cmb': ('configs/cmb/cmb_deeplabv3plus-r18-d8_1xb4-1k_'
            'fashion-canvas-60lab.py'),
    'rc2l': 'configs/rc2l/rc2l_region-r18_1xb4-1k_fashion-canvas-60lab.py',
    's4gan':
    'configs/s4gan/s4gan_deeplabv3plus-r18-d8_1xb4-1k_fashion-canvas-60lab.py',
}

#: The demo configs of the methods without an EMA teacher
#: (``SemiSegmentor(teacher='self')``: FixMatch, UniMatch).
SELF_TEACHER_CONFIGS = {
    'fixmatch': ('configs/unimatch/fixmatch_deeplabv3plus-r18-d8_1xb4-1k_'
                 'fashion-canvas-60lab.py'),
    'unimatch': ('configs/unimatch/unimatch_deeplabv3plus-r18-d8_1xb4-1k_'
                 'fashion-canvas-60lab.py'),
}

#: Images per batch in the small runs (half labelled for semi configs).
BATCH = 4
#: Side of the training crop in the small runs (the demo configs: 64).
CROP = 32


def method_config(name: str) -> str:
    """Absolute path of a method's demo config; skip if not written yet."""
    config = {**METHOD_CONFIGS, **SELF_TEACHER_CONFIGS}[name]
    path = osp.join(REPO, config)
    if not osp.exists(path):
        pytest.skip(f'{config} does not exist yet')
    return path


def _datasets(dataset_cfg) -> List[dict]:
    if dataset_cfg.get('type') == 'ConcatDataset':
        return list(dataset_cfg.datasets)
    return [dataset_cfg]


def small_cfg(name: str,
              work_dir,
              iters: int,
              checkpoint_interval: int = -1,
              batch: int = BATCH,
              crop: Optional[int] = CROP) -> Config:
    """The demo config of ``name`` shrunk to a few CPU iterations.

    Args:
        name (str): a key of :data:`METHOD_CONFIGS` or
            :data:`SELF_TEACHER_CONFIGS`.
        work_dir: the run's folder.
        iters (int): ``train_cfg.max_iters``.
        checkpoint_interval (int): ``CheckpointHook`` interval (-1: none).
        batch (int): images per batch.
        crop (int, optional): side of the training crop instead of the
            config's (64 on the demo data); None keeps the config's.
            Default: :data:`CROP`.

    Returns:
        Config: the config, with ``NonFiniteLossHook`` and
        ``CheckpointCompatibilityHook`` in ``default_hooks``.
    """
    cfg = Config.fromfile(method_config(name))
    cfg.work_dir = str(work_dir)
    loader = cfg.train_dataloader
    loader.num_workers = 0
    loader.persistent_workers = False
    for sub in _datasets(loader.dataset):
        sub.data_root = DEMO
        if crop is not None:
            for transform in sub.pipeline:
                for key in ('scale', 'crop_size', 'size'):
                    if key in transform:
                        transform[key] = (crop, crop)
    if loader.sampler.type == 'LabelledUnlabelledSampler':
        share = loader.sampler.num_labelled / loader.sampler.batch_size
        loader.sampler.batch_size = batch
        loader.sampler.num_labelled = max(1, int(batch * share))
    loader.batch_size = batch
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters + 1
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=checkpoint_interval,
        max_keep_ckpts=-1,
        save_last=False)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.nonfinite_loss = dict(type='NonFiniteLossHook')
    cfg.default_hooks.checkpoint_check = dict(
        type='CheckpointCompatibilityHook')
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=0)
    return cfg


class Recorder(Hook):
    """Keep every iteration's logged values and image paths (from 1)."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.logs: Dict[int, Dict[str, float]] = {}
        self.images: Dict[int, List[str]] = {}

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        step = runner.iter + 1
        self.logs[step] = {k: float(v) for k, v in (outputs or {}).items()}
        self.images[step] = [
            s.img_path for s in data_batch['data_samples']
        ]


def run(cfg: Config, resume: bool = False) -> Recorder:
    """Build a Runner from ``cfg``, train, and return its recorder (with the
    runner as ``recorder.runner``)."""
    cfg = cfg.copy()
    cfg.resume = resume
    runner = Runner.from_cfg(cfg)
    recorder = Recorder()
    runner.register_hook(recorder)
    runner.train()
    recorder.runner = runner
    return recorder


def model_state(runner) -> Dict[str, torch.Tensor]:
    """The trained model's state dict (wrapper removed), cloned."""
    model = runner.model
    model = getattr(model, 'module', model)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@functools.lru_cache(maxsize=None)
def model_and_batch(name: str):
    """A freshly built model of ``name`` (train mode) and one demo batch.

    Cached: tests that share it must leave the weights unchanged (no
    optimiser step).
    """
    from mmseg.registry import MODELS
    torch.manual_seed(0)
    cfg = small_cfg(name, '/tmp/unused', iters=1)
    if name == 'cmb':
        # |X_l| (MemoryBankHook sets it in a Runner)
        cfg.model.method_losses[0].num_labelled_images = 60
    batch = next(iter(Runner.build_dataloader(cfg.train_dataloader, seed=0)))
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    return model, batch
