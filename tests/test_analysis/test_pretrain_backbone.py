"""tools/pretrain_backbone.py: a tiny run, its checkpoint and its loading."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmseg.registry import MODELS

from mmseg_reco.datasets.fashion_canvas_builder import compose_canvases
from repo_scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SOURCE = '/usr/share/datasets/fashion-mnist'
SEMI = ('configs/baselines/'
        'classmix_deeplabv3plus-r18w32-d16_1xb8-2k_fashion-canvas-10lab.py')

pytestmark = pytest.mark.needs_data(
    osp.join(SOURCE, 'train-images-idx3-ubyte.gz'),
    reason='Fashion-MNIST missing: apt-get install dataset-fashion-mnist')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    tool = load_script('tools/pretrain_backbone.py')
    out = str(tmp_path_factory.mktemp('pretrain') / 'backbone.pth')
    meta = tool.main([
        '--out', out, '--iters', '2', '--batch-size', '4', '--holdout', '8',
        '--eval-images', '8', '--warmup-iters', '1', '--log-interval', '1'
    ])
    return out, meta, tool


def test_checkpoint_keys_and_meta(checkpoint):
    path, meta, _ = checkpoint
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    keys = list(ckpt['state_dict'])
    assert all(k.startswith(('backbone.', 'head.')) for k in keys)
    assert 'backbone.stem.0.weight' in keys
    assert 'backbone.layer4.1.bn2.running_mean' in keys
    # the default model: ResNet-18 at half width (256 channels at stage 4)
    assert ckpt['state_dict']['head.fc.weight'].shape == (10, 256)
    assert ckpt['meta']['iters'] == 2 == meta['iters']
    assert 0 <= ckpt['meta']['holdout_top1'] <= 100


def test_loads_into_both_networks_of_a_semi_segmentor(checkpoint):
    """``model.segmentor.backbone.init_cfg`` reaches student and teacher."""
    path, _, _ = checkpoint
    state = torch.load(path, map_location='cpu',
                       weights_only=True)['state_dict']
    cfg = Config.fromfile(osp.join(REPO, SEMI))
    init_default_scope('mmseg')
    cfg.model.segmentor.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=path, prefix='backbone.')
    model = MODELS.build(cfg.model)
    model.init_weights()
    for net in (model.student, model.teacher):
        loaded = net.backbone.state_dict()
        for key in ('stem.0.weight', 'layer3.0.conv1.weight',
                    'layer4.1.bn2.running_var'):
            assert torch.equal(loaded[key], state['backbone.' + key])


def test_items_look_like_canvases(checkpoint):
    """Training images: one tinted item on a dark 64x64 canvas, labelled
    with its class, normalised like the segmentor's inputs."""
    _, _, tool = checkpoint
    images = np.zeros((3, 28, 28), np.uint8)
    images[:, 8:20, 8:20] = 255
    mean, std = [100.0, 110.0, 120.0], [50.0, 50.0, 50.0]
    data = tool.CanvasItems(images, np.array([1, 5, 9]),
                            compose_canvases, mean, std)
    img, label = data.batch(np.array([0, 2]), np.random.default_rng(0))
    assert img.shape == (2, 3, 64, 64) and label.tolist() == [1, 9]
    raw = img * torch.tensor(std).view(1, 3, 1, 1) + torch.tensor(
        mean).view(1, 3, 1, 1)
    bright = raw.amax(dim=1) > 60  # the tinted item
    assert 0 < bright.float().mean() < 0.5


def test_learning_rate_schedule(checkpoint):
    _, _, tool = checkpoint
    assert tool.lr_at(0, 100, 0.1, 10) == pytest.approx(0.01)
    assert tool.lr_at(10, 100, 0.1, 10) == pytest.approx(0.1)
    assert tool.lr_at(99, 100, 0.1, 10) < 0.001
