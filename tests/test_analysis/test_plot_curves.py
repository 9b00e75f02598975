"""Loss and mIoU curves of several runs on one plot."""
import os.path as osp

import numpy as np

from mmseg_reco.visualization import smooth

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def test_smooth_is_a_moving_average():
    values = [1.0, 3.0, 5.0, 7.0]
    np.testing.assert_allclose(smooth(values, 2), [1.0, 2.0, 4.0, 6.0])
    np.testing.assert_allclose(smooth(values, 1), values)


def test_main_writes_one_png_for_all_runs(tools, write_run, tmp_path):
    dirs = []
    for method in ('sup', 'reco'):
        for seed in range(2):
            dirs.append(write_run(
                str(tmp_path / method / f'seed{seed}'),
                [dict(step=20, mIoU=10.0 + seed), dict(step=40, mIoU=20.0)],
                config=f'{method}_config', train_steps=(10, 20, 30, 40),
                losses=[2.0, 1.5, 1.2, 1.0]))
    empty = str(tmp_path / 'empty')
    out = str(tmp_path / 'plots' / 'curves.png')
    assert tools['plot_curves'].main(dirs + [empty, '--out', out,
                                             '--smooth', '2']) == out
    with open(out, 'rb') as f:
        assert f.read(8) == PNG_MAGIC
    assert osp.getsize(out) > 1000
