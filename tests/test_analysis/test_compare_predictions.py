"""Image, ground truth and predictions side by side."""
import os.path as osp

import numpy as np
import pytest
import torch

from mmseg.apis import init_model

from mmseg_reco.visualization import colorize

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_DATA = osp.join(REPO, 'data', 'fashion_canvas', 'splits', 'val.txt')
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
SUPERVISED = ('configs/baselines/'
              'supervised_deeplabv3plus-r18-d8_1xb4-1k_'
              'fashion-canvas-60lab.py')
RECO_SUP = ('configs/reco/'
            'reco-sup_deeplabv3plus-r18-d8-rep_1xb8-1k_fashion-canvas-full.py')


def test_colorize_uses_palette_and_ignore_colour():
    palette = [[0, 0, 0], [10, 20, 30]]
    labels = np.array([[0, 1], [255, 1]])
    rgb = colorize(labels, palette)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert rgb[0, 1].tolist() == [10, 20, 30]
    assert rgb[1, 0].tolist() == [255, 255, 255]


def test_model_spec_parsing(tools):
    parse = tools['compare_predictions'].parse_model
    assert parse('A=x/cfg.py:w/ckpt.pth') == ('A', 'x/cfg.py', 'w/ckpt.pth')
    assert parse('x/my_cfg.py:w/ckpt.pth') == ('my_cfg', 'x/my_cfg.py',
                                               'w/ckpt.pth')
    with pytest.raises(Exception, match='CONFIG:CHECKPOINT'):
        parse('only_a_config.py')


@pytest.mark.needs_data(
    DEMO_DATA, reason='demo data missing: python tools/prepare_demo.py')
def test_main_semi_and_plain_models(tools, tmp_path):
    specs = []
    for name, config in (('Supervised', SUPERVISED), ('ReCo', RECO_SUP)):
        model = init_model(osp.join(REPO, config), None, device='cpu')
        ckpt = str(tmp_path / f'{name}.pth')
        torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
        specs.append(f'{name}={osp.join(REPO, config)}:{ckpt}')
    out = str(tmp_path / 'predictions.png')
    tools['compare_predictions'].main(specs + [
        '--indices', '0', '7', '--out', out, '--cfg-options',
        f'val_dataloader.dataset.data_root={REPO}/data/fashion_canvas'])
    with open(out, 'rb') as f:
        assert f.read(8) == PNG_MAGIC
    assert osp.getsize(out) > 1000
