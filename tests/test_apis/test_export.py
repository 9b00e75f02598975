"""tools/export_model.py: a plain mmseg model that predicts as the plugin's.

The exported config and checkpoint are loaded in a subprocess that never
imports mmseg_reco, and its predictions are compared bit for bit with the
semi-supervised model's teacher or student.
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmseg.apis import inference_model, init_model
from mmseg_reco.apis import export_model
from mmseg_reco.datasets.fashion_canvas import FashionCanvasDataset

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    REPO, 'configs/reco/'
    'reco-classmix_deeplabv3plus-r18-d8-rep_1xb4-1k_fashion-canvas-60lab.py')
DEMO_DATA = osp.join(REPO, 'data', 'fashion_canvas')

# run without mmseg_reco: predict an image, and (with data) test 4 images
PLAIN_SCRIPT = r'''
import json, sys
import numpy as np, torch
torch.set_num_threads(1)
from mmengine.config import Config
from mmengine.runner import Runner
from mmseg.apis import inference_model, init_model
config, checkpoint, image, out, data_root, work_dir = sys.argv[1:7]
state = torch.load(checkpoint, map_location='cpu', weights_only=True)
assert all(isinstance(v, torch.Tensor) for v in state['state_dict'].values())
model = init_model(config, checkpoint, device='cpu')
logits = inference_model(model, np.load(image)).seg_logits.data
torch.save(logits, out)
result = dict(classes=list(model.dataset_meta['classes']),
              head=type(model.decode_head).__name__)
if data_root:
    cfg = Config.fromfile(config)
    cfg.work_dir, cfg.load_from = work_dir, checkpoint
    cfg.log_level = 'WARNING'
    cfg.test_dataloader.num_workers = 0
    cfg.test_dataloader.dataset.data_root = data_root
    cfg.test_dataloader.dataset.indices = 4
    result['mIoU'] = float(Runner.from_cfg(cfg).test()['mIoU'])
result['plugin_imported'] = any(m.split('.')[0] == 'mmseg_reco'
                                for m in sys.modules)
print('RESULT ' + json.dumps(result))
'''


@pytest.fixture(scope='module')
def semi_checkpoint(tmp_path_factory):
    """A checkpoint of the demo ReCo model whose teacher and student
    differ, saved as a Runner saves it (``state_dict`` + ``meta``)."""
    torch.manual_seed(0)
    model = init_model(CONFIG, None, device='cpu')
    with torch.no_grad():
        for param in model.teacher.parameters():
            param.add_(0.05 * torch.randn_like(param))
        for name, buf in model.teacher.named_buffers():
            if name.endswith('running_var'):
                buf.uniform_(0.5, 1.5)
    path = str(tmp_path_factory.mktemp('semi') / 'iter_2.pth')
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(FashionCanvasDataset.METAINFO),
                      seed=np.int64(0))), path)
    return path


@pytest.fixture(scope='module')
def image(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('img') / 'image.npy')
    array = np.random.RandomState(1).randint(0, 256, (64, 80, 3), np.uint8)
    np.save(path, array)
    return array, path


def run_plain(config, checkpoint, image_path, tmp_path, data_root=''):
    """Predict in a fresh interpreter that does not import mmseg_reco."""
    out = str(tmp_path / 'logits.pth')
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, '-c', PLAIN_SCRIPT, config, checkpoint, image_path,
         out, data_root, str(tmp_path / 'work')],
        cwd=str(tmp_path), env=env, capture_output=True, text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith('RESULT ')]
    result = json.loads(line[-1][len('RESULT '):])
    return torch.load(out, weights_only=True), result


@pytest.mark.parametrize('use', ['teacher', 'student'])
def test_exported_model_predicts_bit_for_bit_without_the_plugin(
        semi_checkpoint, image, tmp_path, use):
    array, image_path = image
    config, checkpoint = export_model(CONFIG, semi_checkpoint,
                                      str(tmp_path / 'export'), use=use)
    assert osp.basename(config).endswith(f'_{use}.py')
    text = open(config).read()
    assert 'mmseg_reco' not in text and 'RepresentationHead' not in text
    assert 'CheckSegLabels' not in text

    plugin = init_model(
        CONFIG, semi_checkpoint, device='cpu',
        cfg_options={'model.semi_test_cfg.predict_on': use})
    expected = inference_model(plugin, array).seg_logits.data
    other = 'student' if use == 'teacher' else 'teacher'
    plugin_other = init_model(
        CONFIG, semi_checkpoint, device='cpu',
        cfg_options={'model.semi_test_cfg.predict_on': other})
    other_logits = inference_model(plugin_other, array).seg_logits.data
    assert not torch.equal(expected, other_logits)

    logits, result = run_plain(config, checkpoint, image_path, tmp_path)
    assert result['plugin_imported'] is False
    assert result['head'] == 'DepthwiseSeparableASPPHead'
    assert result['classes'] == list(FashionCanvasDataset.METAINFO['classes'])
    assert torch.equal(logits, expected)


@pytest.mark.needs_data(
    osp.join(DEMO_DATA, 'splits', 'val.txt'),
    reason='demo data missing: python tools/prepare_demo.py')
def test_exported_config_tests_like_the_plugin_model(semi_checkpoint, image,
                                                     tmp_path):
    from mmengine.runner import Runner
    config, checkpoint = export_model(CONFIG, semi_checkpoint,
                                      str(tmp_path / 'export'))
    _, result = run_plain(config, checkpoint, image[1], tmp_path, DEMO_DATA)

    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path / 'plugin')
    cfg.load_from = semi_checkpoint
    cfg.log_level = 'WARNING'
    cfg.test_dataloader.num_workers = 0
    cfg.test_dataloader.persistent_workers = False
    cfg.test_dataloader.dataset.data_root = DEMO_DATA
    cfg.test_dataloader.dataset.indices = 4
    expected = Runner.from_cfg(cfg).test()['mIoU']
    assert result['plugin_imported'] is False
    assert result['mIoU'] == pytest.approx(expected)


def test_exported_checkpoint_holds_plain_tensors_only(semi_checkpoint,
                                                      tmp_path):
    _, checkpoint = export_model(CONFIG, semi_checkpoint, str(tmp_path))
    state = torch.load(checkpoint, map_location='cpu', weights_only=True)
    assert set(state) == {'state_dict', 'meta'}
    assert state['meta']['dataset_meta']['classes'] == \
        FashionCanvasDataset.METAINFO['classes']
    weights = state['state_dict']
    assert all(type(v) is torch.Tensor for v in weights.values())
    assert not any('rep_branch' in k or k.startswith(('teacher.', 'student.'))
                   for k in weights)
    # the teacher's weights, under the plain model's keys
    semi = torch.load(semi_checkpoint, map_location='cpu')['state_dict']
    for key, value in weights.items():
        source = 'teacher.' + key.replace('decode_head.',
                                          'decode_head.decode_head.', 1)
        assert torch.equal(value, semi[source]), key


def test_tool_writes_the_pair(tools_dir, semi_checkpoint, tmp_path):
    proc = subprocess.run(
        [sys.executable, osp.join(tools_dir, 'export_model.py'), CONFIG,
         semi_checkpoint, str(tmp_path), '--use', 'student'],
        capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = sorted(osp.basename(p) for p in glob.glob(str(tmp_path / '*')))
    stem = osp.splitext(osp.basename(CONFIG))[0] + '_student'
    assert written == [stem + '.pth', stem + '.py']


def test_bad_use_is_refused(semi_checkpoint, tmp_path):
    with pytest.raises(ValueError, match="use must be one of"):
        export_model(CONFIG, semi_checkpoint, str(tmp_path), use='ema')


def test_project_heads_are_refused_by_name(tmp_path):
    config = osp.join(
        REPO, 'configs/cmb/cmb_deeplabv2-r101-d8_1xb5-80k_cityscapes-1of8.py')
    with pytest.raises(ValueError, match='DeepLabV2Head'):
        export_model(config, 'unused.pth', str(tmp_path))


@pytest.fixture
def tools_dir():
    return osp.join(REPO, 'tools')


SELF_CONFIG = osp.join(
    REPO, 'configs/unimatch/'
    'fixmatch_deeplabv3plus-r18-d8_1xb4-1k_fashion-canvas-60lab.py')


@pytest.fixture(scope='module')
def self_checkpoint(tmp_path_factory):
    """A checkpoint of the demo FixMatch model (``teacher='self'``: one
    network, saved under ``student.``), its weights moved off their
    initialisation."""
    torch.manual_seed(0)
    model = init_model(SELF_CONFIG, None, device='cpu')
    assert model.teacher is model.student
    with torch.no_grad():
        for param in model.student.parameters():
            param.add_(0.05 * torch.randn_like(param))
    state = model.state_dict()
    assert not any(k.startswith('teacher.') for k in state)
    path = str(tmp_path_factory.mktemp('self') / 'iter_2.pth')
    torch.save(dict(state_dict=state,
                    meta=dict(dataset_meta=dict(
                        FashionCanvasDataset.METAINFO))), path)
    return path


def test_self_teacher_exports_the_student_for_use_teacher(
        tools_dir, self_checkpoint, tmp_path):
    proc = subprocess.run(
        [sys.executable, osp.join(tools_dir, 'export_model.py'),
         SELF_CONFIG, self_checkpoint, str(tmp_path), '--use', 'teacher'],
        capture_output=True, text=True, timeout=600, cwd=REPO,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    output = proc.stdout + proc.stderr
    assert "model.teacher='self'" in output
    assert "use='teacher' exports the student" in output
    stem = osp.splitext(osp.basename(SELF_CONFIG))[0] + '_student'
    written = sorted(osp.basename(p) for p in glob.glob(str(tmp_path / '*')))
    assert written == [stem + '.pth', stem + '.py']
    weights = torch.load(str(tmp_path / (stem + '.pth')), map_location='cpu',
                         weights_only=True)['state_dict']
    semi = torch.load(self_checkpoint, map_location='cpu')['state_dict']
    assert set(weights) == {k[len('student.'):] for k in semi}
    for key, value in weights.items():
        assert torch.equal(value, semi['student.' + key]), key


def test_self_teacher_export_is_the_same_for_either_name(self_checkpoint,
                                                        tmp_path):
    pairs = [
        export_model(SELF_CONFIG, self_checkpoint, str(tmp_path / use),
                     use=use) for use in ('teacher', 'student')
    ]
    for config, _ in pairs:
        assert osp.basename(config).endswith('_student.py')
    weights = [
        torch.load(ckpt, map_location='cpu', weights_only=True)['state_dict']
        for _, ckpt in pairs
    ]
    assert weights[0].keys() == weights[1].keys() and weights[0]
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key]), key
    with pytest.raises(ValueError, match="model.teacher='self'"):
        export_model(SELF_CONFIG, self_checkpoint, str(tmp_path / 'bn'),
                     use='teacher', teacher_buffers='copy')
