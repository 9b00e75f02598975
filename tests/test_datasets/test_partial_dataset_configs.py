"""The partial-label dataset bases (ReCo Table 3) on fake trees: the same
images are labelled and unlabelled, both read the partial label folder that
``tools/make_splits.py partial`` writes, and only the unlabelled copies
carry the ``unlabelled`` marker."""
import copy
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

import mmseg_reco  # noqa: F401
import mmseg_reco.datasets.transforms.mark_unlabelled  # noqa: F401
from mmseg.registry import DATASETS
from repo_scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASES = osp.join(REPO, 'configs', '_base_', 'datasets')
#: dataset -> its ReCo + ClassMix 5% partial-label leaf
LEAVES = {
    dataset: 'configs/reco/reco-classmix_deeplabv3plus-r101-d8-rep_'
    f'1xb{batch}-40k_{dataset}-p5pct.py'
    for dataset, batch in (('voc12aug', 10), ('cityscapes', 2), ('sunrgbd', 5))
}
IGNORE = 255
# base -> (fake tree, make_splits --dataset, full label folder)
CASES = {
    'voc12_aug_partial': ('voc', 'voc12aug', 'SegmentationClassAug'),
    'cityscapes_partial': ('cityscapes', 'cityscapes', 'gtFine/train'),
    'sunrgbd_partial': ('sunrgbd', 'sunrgbd', 'ann_dir/train'),
}


@pytest.fixture(scope='module')
def make_splits():
    name = 'make_splits_for_partial_configs'
    yield load_script('tools/make_splits.py', name)
    del sys.modules[name]


def relocate(cfg, root):
    for sub in cfg.dataset.datasets:
        sub.data_root = root


@pytest.mark.parametrize('name', sorted(CASES))
def test_partial_base_builds_both_views(name, tmp_path, fake_trees,
                                        make_splits):
    tree_key, dataset, full_dir = CASES[name]
    tree = fake_trees[tree_key](tmp_path / tree_key)
    root = tree['root']
    make_splits.main([
        'partial', '--dataset', dataset, '--data-root', root, '--share',
        '5%', '--nproc', '1'
    ])
    base = Config.fromfile(osp.join(BASES, name + '.py'))
    for sub in base.train_dataloader.dataset.datasets:  # default split
        assert sub.ann_file.endswith('-p1pct.txt')
        assert sub.data_prefix.seg_map_path == f'{full_dir}_p1pct'
    # a leaf two levels down selects the 5% files and label folder
    cfg = Config.fromfile(osp.join(REPO, LEAVES[dataset]))
    loader = copy.deepcopy(cfg.train_dataloader)
    relocate(loader, root)
    train = DATASETS.build(loader.dataset)
    labelled, unlabelled = train.datasets
    assert type(labelled) is type(unlabelled)
    assert [d['img_path'] for d in labelled.data_list] == \
        [d['img_path'] for d in unlabelled.data_list]
    assert len(labelled) == len(tree['train'])

    lab = labelled[0]['data_samples']
    unl = unlabelled[0]['data_samples']
    assert not lab.metainfo.get('unlabelled')
    assert unl.metainfo['unlabelled'] is True
    assert f'{full_dir}_p5pct' in unl.metainfo['seg_map_path']
    num_classes = len(labelled.metainfo['classes'])
    for sample in (lab, unl):
        gt = sample.gt_sem_seg.data
        known = gt != IGNORE
        # partial: most pixels ignored (a random crop may hold none known)
        assert known.sum() < 0.5 * gt.numel()
        assert (gt[known] < num_classes).all()
    # the unlabelled copies load the partial labels
    known = sum((unlabelled[i]['data_samples'].gt_sem_seg.data != IGNORE
                 ).sum() for i in range(len(unlabelled)))
    assert known > 0
    assert isinstance(unlabelled[0]['inputs'], torch.Tensor)
