"""tools/make_splits.py on fake dataset trees: every protocol and error."""
import os.path as osp
import sys

import numpy as np
import pytest
from PIL import Image

from repo_scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def tool():
    name = 'make_splits_under_test'
    yield load_script('tools/make_splits.py', name)
    del sys.modules[name]


def read(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def run(tool, *argv):
    return tool.main([str(a) for a in argv])


def test_demo_command_names(tool, tmp_path, fake_trees):
    """The demo's command writes exactly the files its config reads."""
    root = tmp_path / 'fashion_canvas'
    rng = np.random.default_rng(0)
    stems = [f'train_{i:05d}' for i in range(100)]
    for stem in stems:
        fake_trees['write_image'](str(root / 'img_dir' / 'train' /
                                      (stem + '.png')), rng, 8, 8)
        classes = rng.choice(np.arange(1, 11), rng.integers(2, 4), False)
        fake_trees['write_label'](
            str(root / 'ann_dir' / 'train' / (stem + '.png')),
            fake_trees['blob_label'](rng, classes, 16, 16))
    fake_trees['write_list'](str(root / 'splits' / 'train.txt'), stems)
    run(tool, 'class-balanced', '--dataset', 'fashion_canvas', '--data-root',
        root, '--num-labelled', 60, '--seed', 0)
    labelled = read(root / 'splits' / 'labelled-60.txt')
    unlabelled = read(root / 'splits' / 'unlabelled-60.txt')
    assert len(labelled) == 60 and len(unlabelled) == 40
    assert sorted(labelled + unlabelled) == stems
    for stem in labelled:
        label = np.asarray(Image.open(root / 'ann_dir' / 'train' /
                                      (stem + '.png')))
        assert len(np.unique(label)) >= 3


def test_class_balanced_voc(tool, voc_tree, tmp_path):
    root = voc_tree['root']
    out = run(tool, 'class-balanced', '--dataset', 'voc12aug', '--data-root',
              root, '--num-labelled', 10, '--seed', 1)
    assert out['tag'] == '10-seed1'
    labelled = read(osp.join(root, 'splits', 'labelled-10-seed1.txt'))
    unlabelled = read(osp.join(root, 'splits', 'unlabelled-10-seed1.txt'))
    assert len(labelled) == 10
    assert not set(labelled) & set(unlabelled)
    assert sorted(labelled + unlabelled) == sorted(voc_tree['train'])
    # same seed, same files (also with two processes)
    again = run(tool, 'class-balanced', '--dataset', 'voc12aug',
                '--data-root', root, '--num-labelled', 10, '--seed', 1,
                '--nproc', 2, '--out-dir', tmp_path / 'again')
    assert again['labelled'] == labelled
    other = run(tool, 'class-balanced', '--dataset', 'voc12aug',
                '--data-root', root, '--num-labelled', 10, '--seed', 2)
    assert other['labelled'] != labelled


def test_ratio_count_voc1464(tool, voc_tree):
    root = voc_tree['root']
    out = run(tool, 'ratio', '--dataset', 'voc12aug', '--data-root', root,
              '--ratio', '1/8')
    assert out['tag'] == '1of8' and len(out['labelled']) == 3  # ceil(24/8)
    out = run(tool, 'count', '--dataset', 'voc12aug', '--data-root', root,
              '--num-labelled', 5, '--seed', 3)
    assert out['tag'] == 'rand5-seed3' and len(out['labelled']) == 5
    assert osp.isfile(osp.join(root, 'splits', 'labelled-rand5-seed3.txt'))
    out = run(tool, 'voc1464', '--data-root', root, '--ratio', '1/4')
    assert out['tag'] == 'voc1464-1of4' and len(out['labelled']) == 2
    assert set(out['labelled']) <= set(voc_tree['voc_train'])
    assert len(out['unlabelled']) == len(voc_tree['train']) - 2
    out = run(tool, 'voc1464', '--data-root', root, '--all')
    assert sorted(out['labelled']) == sorted(voc_tree['voc_train'])
    assert read(osp.join(root, 'splits', 'unlabelled-voc1464-all.txt')) == \
        sorted(set(voc_tree['train']) - set(voc_tree['voc_train']))


def test_partial_labels_voc(tool, voc_tree):
    root = voc_tree['root']
    out = run(tool, 'partial', '--dataset', 'voc12aug', '--data-root', root,
              '--share', '5%', '--seed', 0)
    assert out['tag'] == 'p5pct'
    assert out['label_dir'] == 'SegmentationClassAug_p5pct'
    # every image stays labelled and unlabelled
    assert read(osp.join(root, 'splits', 'labelled-p5pct.txt')) == \
        voc_tree['train']
    assert read(osp.join(root, 'splits', 'unlabelled-p5pct.txt')) == \
        voc_tree['train']
    for stem in voc_tree['train']:
        full = np.asarray(Image.open(
            osp.join(root, 'SegmentationClassAug', stem + '.png')))
        part = np.asarray(Image.open(
            osp.join(root, 'SegmentationClassAug_p5pct', stem + '.png')))
        kept = part != 255
        assert (part[kept] == full[kept]).all()
        present = set(np.unique(full[full != 255]).tolist())
        assert set(np.unique(part[kept]).tolist()) == present
    first = np.asarray(Image.open(osp.join(
        root, 'SegmentationClassAug_p5pct', voc_tree['train'][0] + '.png')))
    run(tool, 'partial', '--dataset', 'voc12aug', '--data-root', root,
        '--share', '5%', '--nproc', 2, '--tag', 'again')
    again = np.asarray(Image.open(osp.join(
        root, 'SegmentationClassAug_again', voc_tree['train'][0] + '.png')))
    assert (first == again).all()


def test_cityscapes_folder_listing(tool, cityscapes_tree):
    root = cityscapes_tree['root']
    out = run(tool, 'class-balanced', '--dataset', 'cityscapes',
              '--data-root', root, '--num-labelled', 3)
    assert set(out['labelled']) <= set(cityscapes_tree['train'])
    assert '/' in out['labelled'][0]  # <city>/<name>
    out = run(tool, 'partial', '--dataset', 'cityscapes', '--data-root',
              root, '--share', '1px')
    name = cityscapes_tree['train'][0]
    part = np.asarray(Image.open(osp.join(
        root, 'gtFine', 'train_p1px', name + '_gtFine_labelTrainIds.png')))
    full = np.asarray(Image.open(osp.join(
        root, 'gtFine', 'train', name + '_gtFine_labelTrainIds.png')))
    values, counts = np.unique(part[part != 255], return_counts=True)
    assert (counts == 1).all()
    assert set(values.tolist()) == set(np.unique(full[full != 255]).tolist())


def test_sunrgbd_least_class_and_encoding(tool, sunrgbd_tree):
    root = sunrgbd_tree['root']
    out = run(tool, 'class-balanced', '--dataset', 'sunrgbd', '--data-root',
              root, '--num-labelled', 4)
    assert len(out['labelled']) == 4
    run(tool, 'partial', '--dataset', 'sunrgbd', '--data-root', root,
        '--share', '25%')
    stem = sunrgbd_tree['train'][0]
    full = np.asarray(Image.open(osp.join(root, 'ann_dir', 'train',
                                          stem + '.png')))
    part = np.asarray(Image.open(osp.join(root, 'ann_dir', 'train_p25pct',
                                          stem + '.png')))
    # written in the file encoding: 0 = void, classes 1..37 kept
    assert set(np.unique(part).tolist()) == set(np.unique(full).tolist()) | \
        {0}
    assert (part[part > 0] == full[part > 0]).all()


def test_errors_name_the_problem(tool, voc_tree, tmp_path, capsys):
    root = voc_tree['root']
    base = ('--dataset', 'voc12aug', '--data-root', root)
    with pytest.raises(SystemExit, match='cannot draw 25 labelled images'):
        run(tool, 'count', *base, '--num-labelled', 25)
    with pytest.raises(SystemExit, match='min_classes=22 is impossible'):
        run(tool, 'class-balanced', *base, '--num-labelled', 2,
            '--min-classes', 22)
    with pytest.raises(SystemExit, match='hold at least 5 distinct'):
        run(tool, 'class-balanced', *base, '--num-labelled', 2,
            '--min-classes', 5)
    pool = tmp_path / 'pool.txt'
    pool.write_text('2008_000001\nnot_an_image\n')
    with pytest.raises(SystemExit, match="pool.txt.*'not_an_image'"):
        run(tool, 'ratio', *base, '--ratio', '1/2', '--pool', pool)
    bad_list = osp.join(root, 'ImageSets', 'Segmentation', 'bad.txt')
    with open(bad_list, 'w') as f:
        f.write('2008_000001\nghost_0001\n')
    with pytest.raises(SystemExit, match=r"bad.txt.*ghost_0001\.jpg"):
        run(tool, 'count', *base, '--num-labelled', 1, '--train-list',
            'ImageSets/Segmentation/bad.txt')
    label = osp.join(root, 'SegmentationClassAug', '2008_000003.png')
    Image.fromarray(np.full((4, 4), 30, np.uint8)).save(label)
    with pytest.raises(SystemExit, match=r"2008_000003.png' holds id\(s\) "
                       r'\[30\]'):
        run(tool, 'class-balanced', *base, '--num-labelled', 2)
    with pytest.raises(SystemExit, match='no unlabelled image'):
        run(tool, 'voc1464', '--data-root', root, '--all', '--pool',
            'ImageSets/Segmentation/train_aug.txt')
    with pytest.raises(SystemExit, match='does not exist'):
        run(tool, 'count', '--dataset', 'voc12aug', '--data-root',
            tmp_path / 'nowhere', '--num-labelled', 1)
