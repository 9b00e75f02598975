"""Your own data (docs/custom_data.md): FolderSegDataset with the bare
unlabelled folder, configs/_base_/datasets/semi_folder.py and its leaf,
tools/make_splits.py --dataset folder, and the errors for bad input."""
import copy
import os
import os.path as osp
import re
import sys

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import ConcatDataset
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from PIL import Image

from mmseg.registry import DATASETS
from mmseg_reco.datasets import FolderSegDataset, LabelledUnlabelledSampler
from repo_scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LEAF = osp.join(REPO, 'configs', 'baselines',
                'classmix_deeplabv3plus-r18-d8_1xb4-1k_folder-full.py')
BASE = osp.join(REPO, 'configs', '_base_', 'datasets', 'semi_folder.py')
DOC = osp.join(REPO, 'docs', 'custom_data.md')
CLASSES = ('background', 'cat', 'dog')
SIZE = 64


def write_png(path, array):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8)).save(path)


def make_folder_tree(root, num_labelled=4, num_unlabelled=3, num_val=2,
                     num_classes=3, seed=0):
    """64x64 PNG images and label maps in the layout of semi_folder.py; the
    labels hold random rectangles of classes 1..C-1 on 0, with an ignore
    (255) border row."""
    rng = np.random.default_rng(seed)
    labels = {}
    for split, count in (('train', num_labelled), ('val', num_val)):
        for i in range(count):
            stem = f'{split}_{i:02d}'
            write_png(osp.join(root, split, 'images', stem + '.png'),
                      rng.integers(0, 256, (SIZE, SIZE, 3)))
            label = np.zeros((SIZE, SIZE), np.uint8)
            for cls in rng.choice(np.arange(1, num_classes), 2, False):
                y, x = rng.integers(0, SIZE // 2, 2)
                label[y:y + SIZE // 2, x:x + SIZE // 2] = cls
            label[0] = 255
            write_png(osp.join(root, split, 'labels', stem + '.png'), label)
            labels[f'{split}/{stem}'] = label
    for i in range(num_unlabelled):
        write_png(osp.join(root, 'unlabelled', f'photo {i}.png'),
                  rng.integers(0, 256, (SIZE, SIZE, 3)))
    return labels


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / 'my_data'
    labels = make_folder_tree(str(root))
    return dict(root=str(root), labels=labels)


def labelled_cfg(root, **kwargs):
    cfg = dict(
        type='FolderSegDataset',
        data_root=root,
        data_prefix=dict(img_path='train/images',
                         seg_map_path='train/labels'),
        img_suffix='.png',
        metainfo=dict(classes=CLASSES),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')
        ])
    cfg.update(kwargs)
    return cfg


def relocate(cfg, root):
    """Point every ``data_root`` of a config at ``root``; workers off."""
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            if key == 'data_root':
                cfg[key] = root
            elif key == 'num_workers':
                cfg[key] = 0
            elif key == 'persistent_workers':
                cfg[key] = False
            else:
                relocate(value, root)
    elif isinstance(cfg, list):
        for value in cfg:
            relocate(value, root)


def leaf_config(root):
    cfg = Config.fromfile(LEAF)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        relocate(cfg[loader], root)
    return cfg


# --------------------------------------------------------------------------
# the dataset
# --------------------------------------------------------------------------
def test_lists_pairs_and_loads_label_values(tree):
    init_default_scope('mmseg')
    dataset = DATASETS.build(labelled_cfg(tree['root']))
    assert isinstance(dataset, FolderSegDataset)
    assert dataset.metainfo['classes'] == CLASSES
    assert dataset.num_classes == 3
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert [osp.basename(i['img_path']) for i in infos] == [
        f'train_{i:02d}.png' for i in range(4)]
    assert [osp.relpath(i['seg_map_path'], tree['root']) for i in infos] == [
        osp.join('train', 'labels', f'train_{i:02d}.png') for i in range(4)]
    # the label map arrives as written (ids and the 255 ignore row)
    gt = dataset[1]['data_samples'].gt_sem_seg.data[0].numpy()
    np.testing.assert_array_equal(gt, tree['labels']['train/train_01'])


def test_inserts_label_check_after_load_annotations(tree):
    init_default_scope('mmseg')
    dataset = DATASETS.build(labelled_cfg(tree['root']))
    names = [type(t).__name__ for t in dataset.pipeline.transforms]
    assert names == ['LoadImageFromFile', 'LoadAnnotations',
                     'CheckSegLabels', 'PackSegInputs']
    check = dataset.pipeline.transforms[2]
    assert (check.num_classes, check.ignore_index, check.check_size) == (
        3, 255, True)
    # after a test-time Resize the image no longer has the label's size
    resized = DATASETS.build(labelled_cfg(tree['root'], pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(32, 32), keep_ratio=True),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')]))
    assert not resized.pipeline.transforms[3].check_size
    sample = resized[0]['data_samples']
    assert sample.gt_sem_seg.data.shape[-2:] == (SIZE, SIZE)


def test_pipeline_check_with_other_class_count_raises(tree):
    init_default_scope('mmseg')
    cfg = labelled_cfg(tree['root'])
    cfg['pipeline'].insert(2, dict(type='CheckSegLabels', num_classes=11))
    with pytest.raises(ValueError, match='against 11 classes, but metainfo '
                       'names 3'):
        DATASETS.build(cfg)


def test_classes_must_come_from_the_config(tree):
    init_default_scope('mmseg')
    with pytest.raises(ValueError, match=r'metainfo=dict\(classes='):
        DATASETS.build(labelled_cfg(tree['root'], metainfo=None))


# --------------------------------------------------------------------------
# bad input: each error names the file
# --------------------------------------------------------------------------
def test_label_id_above_class_count_raises_on_load(tree):
    init_default_scope('mmseg')
    path = osp.join(tree['root'], 'train', 'labels', 'train_02.png')
    label = np.zeros((SIZE, SIZE), np.uint8)
    label[5, 5] = 3  # classes are 0, 1, 2
    label[6, 6] = 255  # ignore: allowed
    write_png(path, label)
    dataset = DATASETS.build(labelled_cfg(tree['root']))
    dataset[1]  # a valid label loads
    with pytest.raises(ValueError) as err:
        dataset[2]
    message = str(err.value)
    assert path in message and 'id(s) [3]' in message
    assert '255' in message  # names the ignore index as valid


def test_ignore_index_is_not_a_bad_label(tree):
    init_default_scope('mmseg')
    path = osp.join(tree['root'], 'train', 'labels', 'train_00.png')
    write_png(path, np.full((SIZE, SIZE), 255, np.uint8))
    dataset = DATASETS.build(labelled_cfg(tree['root']))
    gt = dataset[0]['data_samples'].gt_sem_seg.data
    assert int(gt.min()) == 255 and int(gt.max()) == 255


def test_image_without_label_raises_naming_it(tree):
    init_default_scope('mmseg')
    os.remove(osp.join(tree['root'], 'train', 'labels', 'train_03.png'))
    with pytest.raises(FileNotFoundError) as err:
        DATASETS.build(labelled_cfg(tree['root']))
    message = str(err.value)
    assert '1 of the 4 images' in message
    assert osp.join(tree['root'], 'train', 'images', 'train_03.png') in \
        message
    assert osp.join(tree['root'], 'train', 'labels', 'train_03.png') in \
        message


def test_label_without_image_raises_naming_it(tree):
    """An image with another suffix ('.PNG') would be left out unseen."""
    init_default_scope('mmseg')
    img_dir = osp.join(tree['root'], 'train', 'images')
    os.rename(osp.join(img_dir, 'train_02.png'),
              osp.join(img_dir, 'train_02.PNG'))
    with pytest.raises(FileNotFoundError) as err:
        DATASETS.build(labelled_cfg(tree['root']))
    message = str(err.value)
    assert '1 label map(s)' in message
    assert osp.join(tree['root'], 'train', 'labels', 'train_02.png') in \
        message
    assert "'.png'" in message and 'case-sensitive' in message


def test_size_mismatch_raises_when_built(tree):
    init_default_scope('mmseg')
    path = osp.join(tree['root'], 'train', 'labels', 'train_01.png')
    write_png(path, np.zeros((SIZE, SIZE + 8), np.uint8))
    with pytest.raises(ValueError) as err:
        DATASETS.build(labelled_cfg(tree['root']))
    message = str(err.value)
    assert path in message
    assert f'is {SIZE}x{SIZE + 8}' in message and f'{SIZE}x{SIZE}' in message
    # with the build-time check off, the pipeline's check catches it on load
    dataset = DATASETS.build(labelled_cfg(tree['root'], check_sizes=False))
    with pytest.raises(ValueError, match=re.escape(path)):
        dataset[1]


def test_wrong_image_suffix_names_what_the_folder_holds(tree):
    init_default_scope('mmseg')
    with pytest.raises(ValueError) as err:
        DATASETS.build(labelled_cfg(tree['root'], img_suffix='.jpg'))
    message = str(err.value)
    assert "no image ending with '.jpg'" in message
    assert "4 x '.png'" in message


def test_empty_unlabelled_folder_raises_naming_it(tmp_path):
    init_default_scope('mmseg')
    folder = tmp_path / 'my_data' / 'unlabelled'
    folder.mkdir(parents=True)
    with pytest.raises(ValueError) as err:
        DATASETS.build(
            dict(type='UnlabelledDataset', data_root=str(tmp_path / 'my_data'),
                 data_prefix=dict(img_path='unlabelled'), img_suffix='.png',
                 metainfo=dict(classes=CLASSES), pipeline=[]))
    assert str(folder) in str(err.value)
    assert 'the folder is empty' in str(err.value)


# --------------------------------------------------------------------------
# the configs
# --------------------------------------------------------------------------
def test_leaf_builds_labelled_and_bare_unlabelled_sets(tree):
    init_default_scope('mmseg')
    cfg = leaf_config(tree['root'])
    assert cfg.model.segmentor.decode_head.num_classes == len(
        cfg.metainfo['classes'])
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert isinstance(dataset, ConcatDataset)
    labelled, unlabelled = dataset.datasets
    assert (len(labelled), len(unlabelled)) == (4, 3)
    assert [osp.basename(unlabelled.get_data_info(i)['img_path'])
            for i in range(3)] == [f'photo {i}.png' for i in range(3)]
    sample = dataset[4]['data_samples']  # first unlabelled image
    assert 'gt_sem_seg' not in sample
    sampler = LabelledUnlabelledSampler(
        dataset, batch_size=cfg.train_dataloader.batch_size,
        num_labelled=cfg.train_dataloader.sampler.num_labelled, seed=0)
    stream = iter(sampler)
    first = [next(stream) for _ in range(8)]
    # 4 labelled indices (0..3), then 4 of the unlabelled set (4..6)
    assert [i < 4 for i in first] == [True] * 4 + [False] * 4


def test_trains_two_iterations_from_the_leaf_config(tree, tmp_path):
    cfg = leaf_config(tree['root'])
    # batch norm in train mode needs 2 images per branch
    cfg.train_dataloader.batch_size = 4
    cfg.train_dataloader.sampler.batch_size = 4
    cfg.train_dataloader.sampler.num_labelled = 2
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2,
                         val_interval=2)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.launcher = 'none'
    cfg.env_cfg = dict(cudnn_benchmark=False,
                       mp_cfg=dict(mp_start_method='fork',
                                   opencv_num_threads=0),
                       dist_cfg=dict(backend='gloo'))
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
    assert runner.iter == 2
    sup = runner.message_hub.get_scalar('train/sup_decode.loss_ce')
    assert np.isfinite(sup.current()) and sup.current() > 0
    miou = runner.message_hub.get_scalar('val/mIoU').current()
    assert 0 <= miou <= 100


def test_doc_shows_the_base_config(tree):
    """docs/custom_data.md shows semi_folder.py as it is (it says to copy
    it), so the documented config is the tested one."""
    with open(DOC) as f:
        blocks = re.findall(r'```python\n(.*?)```', f.read(), re.S)
    with open(BASE) as f:
        base = f.read()
    assert base in blocks


# --------------------------------------------------------------------------
# tools/make_splits.py --dataset folder
# --------------------------------------------------------------------------
@pytest.fixture(scope='module')
def tool():
    name = 'make_splits_folder_test'
    yield load_script('tools/make_splits.py', name)
    del sys.modules[name]


def test_make_splits_draws_from_the_labelled_folder(tool, tree):
    root = tree['root']
    out = tool.main(['count', '--dataset', 'folder', '--data-root', root,
                     '--img-suffix', '.png', '--num-labelled', '2'])
    assert out['tag'] == 'rand2'
    stems = [f'train_{i:02d}' for i in range(4)]
    assert sorted(out['labelled'] + out['unlabelled']) == stems
    assert len(out['labelled']) == 2
    balanced = tool.main(['class-balanced', '--dataset', 'folder',
                          '--data-root', root, '--img-suffix', '.png',
                          '--num-classes', '3', '--num-labelled', '3'])
    assert len(balanced['labelled']) == 3
    # the split plugs into the config: labelled from the list, unlabelled =
    # the rest of the labelled folder plus the bare folder
    init_default_scope('mmseg')
    cfg = leaf_config(root)
    base_labelled = cfg.train_dataloader.dataset.datasets[0]
    base_unlabelled = cfg.train_dataloader.dataset.datasets[1]
    dataset = DATASETS.build(dict(type='ConcatDataset', datasets=[
        dict(base_labelled, ann_file='splits/labelled-rand2.txt'),
        dict(type='ConcatDataset', datasets=[
            dict(base_unlabelled, data_prefix=dict(img_path='train/images'),
                 ann_file='splits/unlabelled-rand2.txt'),
            base_unlabelled])]))
    labelled, unlabelled = dataset.datasets
    assert [osp.basename(labelled.get_data_info(i)['img_path'])[:-4]
            for i in range(2)] == out['labelled']
    assert len(unlabelled) == 2 + 3


def test_make_splits_needs_the_class_count_to_read_labels(tool, tree):
    with pytest.raises(SystemExit, match='--num-classes'):
        tool.main(['class-balanced', '--dataset', 'folder', '--data-root',
                   tree['root'], '--img-suffix', '.png', '--num-labelled',
                   '2'])
