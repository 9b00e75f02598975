"""tools/demo_support.py: the demo's shared paths, the split it makes, and
paths that resolve in the script's own checkout."""
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from mmseg_reco.datasets.fashion_canvas_builder import build_demo
from repo_scripts import REPO_ROOT, load_script

demo = load_script('tools/demo_support.py', 'demo_support')

#: what a second checkout needs for the accuracy benchmark's and the GPU
#: check's paths (mmseg_reco itself comes from the installed package)
CLONE_FILES = ('tools/demo_support.py', 'tools/make_splits.py',
               'tools/gpu_check.py', 'benchmarks/accuracy.py',
               'benchmarks/accuracy_methods.py',
               'benchmarks/accuracy_tables.py')


def read(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def tiny_canvases(root):
    """12 training and 4 validation canvases with their split files."""
    rng = np.random.default_rng(0)
    images = np.zeros((30, 28, 28), np.uint8)
    images[:, 4:24, 6:22] = rng.integers(1, 256, (30, 20, 16))
    labels = rng.integers(0, 10, 30).astype(np.uint8)
    build_demo(out_dir=root, num_train=12, num_val=4,
               data=dict(train=(images, labels), val=(images, labels)),
               verbose=False)


def test_paths_are_the_ones_the_tools_use(repo_root):
    assert demo.REPO_ROOT == repo_root
    assert demo.repo_path(demo.PRETRAINED_CHECKPOINT) == osp.join(
        repo_root, 'work_dirs/pretrain/resnet18w32-v1c_fashion-mnist.pth')
    assert demo.repo_path('/abs/x.pth') == '/abs/x.pth'
    assert demo.split_files(20) == ('splits/labelled-20.txt',
                                    'splits/unlabelled-20.txt')
    assert demo.split_files(20, seed=2) == ('splits/labelled-20-seed2.txt',
                                            'splits/unlabelled-20-seed2.txt')


def test_ensure_split_writes_the_class_balanced_split_once(tmp_path):
    root = str(tmp_path / 'canvas')
    tiny_canvases(root)
    labelled, unlabelled = demo.ensure_split(4, seed=1, data_root=root)
    assert labelled == osp.join(root, 'splits', 'labelled-4-seed1.txt')
    train = read(osp.join(root, 'splits', 'train.txt'))
    chosen, rest = read(labelled), read(unlabelled)
    assert len(chosen) == 4 and sorted(chosen + rest) == sorted(train)
    # present: not written again
    stamp = os.stat(labelled).st_mtime_ns
    assert demo.ensure_split(4, seed=1, data_root=root) == (labelled,
                                                            unlabelled)
    assert os.stat(labelled).st_mtime_ns == stamp


def test_ensure_split_names_a_missing_data_root(tmp_path):
    with pytest.raises(FileNotFoundError, match='holds no demo data'):
        demo.ensure_split(4, data_root=str(tmp_path))


def test_ensure_pretrained_keeps_an_existing_checkpoint(tmp_path):
    path = tmp_path / 'backbone.pth'
    path.write_bytes(b'x')
    assert demo.ensure_pretrained(str(path)) is None
    assert path.read_bytes() == b'x'


PROBE = r'''
import json, runpy, sys
accuracy = runpy.run_path(sys.argv[1], run_name='clone_accuracy')
gpu_check = runpy.run_path(sys.argv[2], run_name='clone_gpu_check')
import accuracy_methods, demo_support, mmseg_reco
labelled, _ = accuracy['ensure_split'](7, 5, accuracy['DATA_ROOT'])
print(json.dumps(dict(
    accuracy_repo=accuracy['REPO'], gpu_check_repo=gpu_check['REPO'],
    demo_support=demo_support.__file__, methods=accuracy_methods.__file__,
    same_table=accuracy['METHODS'] is accuracy_methods.METHODS,
    gpu_check_configs=gpu_check['distinct_configs'](),
    pretrained=demo_support.repo_path(accuracy['PRETRAINED_CHECKPOINT']),
    labelled=labelled, package=mmseg_reco.__file__)))
'''


def test_a_second_checkout_resolves_its_own_data_and_runs(tmp_path):
    """Run from a second checkout while the first is the installed
    package: the accuracy benchmark and the GPU check take their tools,
    method table, data and checkpoint from the second one, and the split
    the benchmark makes is written there."""
    clone = tmp_path / 'clone'
    for relpath in CLONE_FILES:
        (clone / relpath).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(osp.join(REPO_ROOT, relpath), clone / relpath)
    data = clone / 'data' / 'fashion_canvas'
    tiny_canvases(str(data))
    elsewhere = tmp_path / 'cwd'
    elsewhere.mkdir()
    main_split = osp.join(REPO_ROOT, 'data', 'fashion_canvas', 'splits',
                          'labelled-7-seed5.txt')
    assert not osp.exists(main_split)
    done = subprocess.run(
        [sys.executable, '-c', PROBE,
         str(clone / 'benchmarks' / 'accuracy.py'),
         str(clone / 'tools' / 'gpu_check.py')],
        cwd=str(elsewhere), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found['accuracy_repo'] == str(clone)
    assert found['gpu_check_repo'] == str(clone)
    assert found['demo_support'] == str(clone / 'tools' / 'demo_support.py')
    assert found['methods'] == str(
        clone / 'benchmarks' / 'accuracy_methods.py')
    assert found['same_table']
    assert found['pretrained'] == str(
        clone / 'work_dirs/pretrain/resnet18w32-v1c_fashion-mnist.pth')
    # the package comes from the installed checkout, the data from this one
    assert not found['package'].startswith(str(clone))
    assert found['labelled'] == str(data / 'splits' / 'labelled-7-seed5.txt')
    assert len(read(found['labelled'])) == 7
    assert not osp.exists(main_split)
    assert found['gpu_check_configs']['reco'] == (
        'configs/reco/reco-classmix_deeplabv3plus-r18w32-d16-rep_'
        '1xb8-2k_fashion-canvas-10lab.py')


def test_setup_env_reads_the_pretrained_checkpoint_path():
    with open(osp.join(REPO_ROOT, 'tools', 'setup_env.sh')) as f:
        line = next(line.strip() for line in f
                    if re.match(r'\s*PRETRAINED=\$\(', line))
    done = subprocess.run(
        ['bash', '-c', f'set -euo pipefail; PY={sys.executable}; {line}; '
         'echo "$PRETRAINED"'],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == demo.PRETRAINED_CHECKPOINT
