"""tools/analysis/pseudo_label_quality.py: the hook's figures, per class."""
import os.path as osp

import pytest

from mmseg.apis import init_model

from mmseg_reco.engine.hooks.pseudo_label_quality_hook import (
    PseudoLabelQualityHook, labelled_copy)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = osp.join(REPO, 'data', 'fashion_canvas')
CLASSMIX = osp.join(
    REPO, 'configs/baselines/'
    'classmix_deeplabv3plus-r18-d8_1xb4-1k_fashion-canvas-60lab.py')


def test_tool_agrees_with_the_hook(tools, initial_checkpoint, capsys):
    ckpt = initial_checkpoint(CLASSMIX,
                              osp.join(DATA, 'splits', 'unlabelled-60.txt'))
    summary = tools['pseudo_label_quality'].main([
        CLASSMIX, ckpt, '--split', 'splits/unlabelled-60.txt',
        '--data-root', DATA, '--num-images', '8', '--batch-size', '4'
    ])
    hook = PseudoLabelQualityHook(
        labelled_copy('FashionCanvasDataset', DATA,
                      'splits/unlabelled-60.txt'),
        batch_size=4,
        num_images=8)
    expected = hook.score(
        init_model(CLASSMIX, ckpt, device='cpu'), norm_train=True)
    assert summary == pytest.approx(expected)
    table = capsys.readouterr().out.splitlines()
    rows = [line for line in table if line.startswith('| ') and
            not line.startswith('| class') and not line.startswith('| ---')]
    assert len(rows) == 11  # one per demo class
    true_share = sum(float(r.split('|')[2]) for r in rows)
    assert true_share == pytest.approx(100.0, abs=0.1)
