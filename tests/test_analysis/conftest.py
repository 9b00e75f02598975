"""Helpers for the analysis tests: load tools as modules, fake run dirs."""
import json
import os
import os.path as osp

import matplotlib
import pytest
import torch

from repo_scripts import load_script

# the tools' entry points select Agg; tests call their functions directly
matplotlib.use('Agg')

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: classes of the fake runs
CLASSES = ('background', 'T-shirt/top', 'Trouser')


def _load_tool(relpath):
    """A script under tools/ or benchmarks/ as a module."""
    return load_script(relpath)


def _write_run(work_dir, evals, config='method_a_cfg', train_steps=(10, 20),
               timestamp='20240101_000000', losses=None):
    """A fake mmengine work dir.

    Args:
        work_dir (str): folder to create.
        evals (list[dict]): per evaluation ``step``, ``mIoU`` and optional
            per-class ``IoU.<class>`` keys.
        config (str | None): config name dumped into the work dir.
        train_steps (tuple[int]): steps of the training records.
        timestamp (str): launch folder name.
        losses (list[float], optional): loss per training record.
    """
    launch = osp.join(work_dir, timestamp, 'vis_data')
    os.makedirs(launch, exist_ok=True)
    if config:
        with open(osp.join(work_dir, config + '.py'), 'w') as f:
            f.write('# config\n')
    losses = losses or [1.0 / (1 + k) for k in range(len(train_steps))]
    lines = []
    for step, loss in zip(train_steps, losses):
        lines.append(dict(lr=0.01, loss=loss, time=0.1, iter=step, step=step))
    for record in evals:
        lines.append(dict(dict(aAcc=90.0, mAcc=50.0, data_time=0.01,
                               time=0.02), **record))
    lines.sort(key=lambda r: r['step'])
    with open(osp.join(launch, 'scalars.json'), 'w') as f:
        for line in lines:
            f.write(json.dumps(line) + '\n')
    return work_dir


@pytest.fixture
def write_run():
    """:func:`_write_run`: writes a fake mmengine work dir."""
    return _write_run


@pytest.fixture
def initial_checkpoint(tmp_path):
    """Save a freshly built model of a config (seed 0) to ``tmp_path``;
    fails the test when the demo data, ``data_file``, is missing."""

    def save(config, data_file):
        if not osp.isfile(data_file):
            pytest.fail('demo data missing: run bash tools/setup_env.sh')
        from mmseg.apis import init_model
        torch.manual_seed(0)
        model = init_model(config, None, device='cpu')
        path = str(tmp_path / 'model.pth')
        torch.save(dict(state_dict=model.state_dict(), meta={}), path)
        return path

    return save


@pytest.fixture
def load_tool():
    """:func:`_load_tool`: a script as a module."""
    return _load_tool


@pytest.fixture
def tools():
    """The analysis scripts as modules."""
    return dict(
        aggregate=_load_tool('tools/analysis/aggregate.py'),
        plot_curves=_load_tool('tools/analysis/plot_curves.py'),
        relation_graph=_load_tool('tools/analysis/relation_graph.py'),
        compare_predictions=_load_tool(
            'tools/analysis/compare_predictions.py'),
        pseudo_label_quality=_load_tool(
            'tools/analysis/pseudo_label_quality.py'),
        region_matching=_load_tool('tools/analysis/region_matching.py'))
