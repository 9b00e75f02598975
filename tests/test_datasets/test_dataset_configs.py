"""The dataset ``_base_`` configs build their loaders' datasets on fake trees
and yield crops of the paper's size."""
import copy
import os.path as osp

import pytest
from mmengine.config import Config

from mmseg.registry import DATASETS, DATA_SAMPLERS

import mmseg_reco.datasets.cityscapes_split  # noqa: F401
import mmseg_reco.datasets.gta5  # noqa: F401
import mmseg_reco.datasets.sunrgbd  # noqa: F401
import mmseg_reco.datasets.voc_aug  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASES = osp.join(REPO, 'configs', '_base_', 'datasets')

# config -> (fake trees used, crop (H, W) of the labelled train images)
CASES = {
    'voc12_aug': (('voc', ), (321, 321)),
    'voc12_aug_semi': (('voc', ), (321, 321)),
    'cityscapes': (('cityscapes', ), (24, 48)),  # fake images < the crop
    'cityscapes_semi': (('cityscapes', ), (24, 48)),
    'sunrgbd': (('sunrgbd', ), (321, 321)),
    'sunrgbd_semi': (('sunrgbd', ), (321, 321)),
    'gta5': (('gta5', 'cityscapes'), (512, 512)),
    'gta5_cityscapes_semi': (('gta5', 'cityscapes'), None),
}
ROOTS = {
    'data/VOCdevkit/VOC2012': 'voc',
    'data/cityscapes_512x1024': 'cityscapes',
    'data/sunrgbd': 'sunrgbd',
    'data/gta5': 'gta5',
}


def relocate(cfg, roots):
    """Point every ``data_root`` of a (nested) config at the fake trees."""
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            if key == 'data_root':
                cfg[key] = roots[ROOTS[value]]
            else:
                relocate(value, roots)
    elif isinstance(cfg, list):
        for value in cfg:
            relocate(value, roots)


def write_default_splits(cfg, trees, fake_trees):
    """Write the split files that a semi config names (labelled: the first
    two training images)."""
    datasets = cfg.train_dataloader.dataset.get('datasets', [])
    flat = []
    for dataset in datasets:
        flat += dataset.get('datasets', [dataset])
    for dataset in flat:
        ann = dataset.get('ann_file', '')
        if not ann.startswith('splits/labelled') and \
                not ann.startswith('splits/unlabelled'):
            continue
        tree = trees[ROOTS_BY_PATH[dataset['data_root']]]
        stems = tree['train']
        chosen = stems[:2] if 'unlabelled' not in ann else stems[2:]
        fake_trees['write_list'](osp.join(dataset['data_root'], ann), chosen)


ROOTS_BY_PATH = {}


@pytest.mark.parametrize('name', sorted(CASES))
def test_dataset_base_builds(name, tmp_path, fake_trees):
    names, crop = CASES[name]
    trees = {key: fake_trees[key](tmp_path / key) for key in names}
    roots = {key: tree['root'] for key, tree in trees.items()}
    ROOTS_BY_PATH.clear()
    ROOTS_BY_PATH.update({root: key for key, root in roots.items()})
    cfg = Config.fromfile(osp.join(BASES, name + '.py'))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        relocate(cfg[loader], roots)
    write_default_splits(cfg, trees, fake_trees)

    train_cfg = copy.deepcopy(cfg.train_dataloader)
    train = DATASETS.build(train_cfg.dataset)
    sampler_cfg = dict(train_cfg.sampler, dataset=train, seed=0)
    if sampler_cfg['type'] == 'LabelledUnlabelledSampler':
        sampler = DATA_SAMPLERS.build(sampler_cfg)
        indices = list(zip(range(train_cfg.batch_size), iter(sampler)))
        batch = [train[i] for _, i in indices]
        num_labelled = sampler_cfg['num_labelled']
        assert len(batch) == train_cfg.batch_size
        for k, item in enumerate(batch):
            has_gt = 'gt_sem_seg' in item['data_samples']
            assert has_gt == (k < num_labelled)
            if crop is not None and has_gt:
                assert tuple(item['inputs'].shape[1:]) == crop
    else:
        item = train[0]
        assert tuple(item['inputs'].shape[1:]) == crop
        gt = item['data_samples'].gt_sem_seg.data
        assert tuple(gt.shape[1:]) == crop
    val = DATASETS.build(copy.deepcopy(cfg.val_dataloader.dataset))
    item = val[0]
    gt = item['data_samples'].gt_sem_seg.data
    assert gt.shape[1:] == item['inputs'].shape[1:]
    assert len(val.metainfo['classes']) in (19, 21, 37)
