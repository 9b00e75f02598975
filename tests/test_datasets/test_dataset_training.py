"""A few ClassMix iterations on each dataset's semi base, on fake trees
(small DeepLabV3+ R18, CPU). Slow: run with ``-m slow``."""
import copy
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

import mmseg_reco.datasets.cityscapes_split  # noqa: F401
import mmseg_reco.datasets.gta5  # noqa: F401
import mmseg_reco.datasets.sunrgbd  # noqa: F401
import mmseg_reco.datasets.voc_aug  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE = osp.join(REPO, 'configs', '_base_')

# dataset base -> (fake trees, number of classes)
CASES = {
    'voc12_aug_semi': (('voc', ), 21),
    'cityscapes_semi': (('cityscapes', ), 19),
    'sunrgbd_semi': (('sunrgbd', ), 37),
    'gta5_cityscapes_semi': (('gta5', 'cityscapes'), 19),
}
ROOTS = {
    'data/VOCdevkit/VOC2012': 'voc',
    'data/cityscapes_512x1024': 'cityscapes',
    'data/sunrgbd': 'sunrgbd',
    'data/gta5': 'gta5',
}


def relocate(cfg, roots):
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            if key == 'data_root':
                cfg[key] = roots[ROOTS[value]]
            elif key in ('num_workers', ):
                cfg[key] = 0
            elif key == 'persistent_workers':
                cfg[key] = False
            else:
                relocate(value, roots)
    elif isinstance(cfg, list):
        for value in cfg:
            relocate(value, roots)


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(CASES))
def test_trains_a_few_iterations(name, tmp_path, fake_trees):
    trees_needed, num_classes = CASES[name]
    trees = {k: fake_trees[k](tmp_path / k) for k in trees_needed}
    roots = {k: t['root'] for k, t in trees.items()}
    leaf = tmp_path / f'classmix_r18_test_{name}.py'
    leaf.write_text(
        '_base_ = [\n'
        f"    '{BASE}/models/deeplabv3plus_r18-d8_demo.py',\n"
        f"    '{BASE}/datasets/{name}.py',\n"
        f"    '{BASE}/schedules/schedule_1k.py',\n"
        f"    '{BASE}/default_runtime.py',\n"
        f"    '{BASE}/methods/classmix.py',\n"
        ']\n'
        'model = dict(_delete_=True, segmentor=_base_.model, '
        '**_base_.semi_model)\n'
        f"model['segmentor']['decode_head']['num_classes'] = {num_classes}\n")
    cfg = Config.fromfile(str(leaf))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        relocate(cfg[loader], roots)
    # split files with the default names: 2 labelled, the rest unlabelled
    datasets = cfg.train_dataloader.dataset.datasets
    flat = []
    for dataset in datasets:
        flat += dataset.get('datasets', [dataset])
    for dataset in flat:
        ann = dataset.get('ann_file', '')
        if ann.startswith('splits/'):
            tree = trees[ROOTS[[k for k, v in ROOTS.items()
                                if roots.get(v) == dataset['data_root']][0]]]
            stems = tree['train']
            if 'labelled-' in ann and 'unlabelled' not in ann:
                stems = stems[:2]
            elif 'unlabelled' in ann:
                stems = stems[2:]
            if not osp.isfile(osp.join(dataset['data_root'], ann)):
                fake_trees['write_list'](
                    osp.join(dataset['data_root'], ann), stems)
    # batch norm in train mode needs 2 images per branch
    cfg.train_dataloader.batch_size = 4
    cfg.train_dataloader.sampler.batch_size = 4
    cfg.train_dataloader.sampler.num_labelled = 2
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2,
                         val_interval=2)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook')
    cfg.work_dir = str(tmp_path / 'work')
    cfg.launcher = 'none'
    cfg.env_cfg = dict(cudnn_benchmark=False,
                       mp_cfg=dict(mp_start_method='fork',
                                   opencv_num_threads=0),
                       dist_cfg=dict(backend='gloo'))
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
    assert runner.iter == 2
    metrics = runner.message_hub.get_scalar('val/mIoU')
    assert metrics is not None
