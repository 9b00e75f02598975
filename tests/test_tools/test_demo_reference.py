"""tools/demo.py: the Supervised figure it prints beside its own mIoU is
the benchmark's, as docs/benchmarks.md reports it."""
import argparse
import os.path as osp

from repo_scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_supervised_reference_is_the_documented_figure():
    demo = load_script('tools/demo.py')
    ref = demo.SUPERVISED_REFERENCE
    with open(osp.join(REPO, ref['doc'])) as f:
        doc = f.read()
    # the Supervised row of the three-seed table: each seed's last
    # evaluation, then their mean
    seeds = ' | '.join(f'{v:.2f}' for v in ref['seeds'])
    assert f'| Supervised | {seeds} | {ref["miou"]:.2f} ± ' in doc
    assert abs(ref['miou'] - sum(ref['seeds']) / len(ref['seeds'])) < 0.01
    args = argparse.Namespace(labelled=ref['labelled'], iters=600)
    line = demo.supervised_reference_line(args)
    assert f'mIoU {ref["miou"]:.2f}' in line and '600 iterations' in line
    other = demo.supervised_reference_line(
        argparse.Namespace(labelled=ref['labelled'] + 1, iters=600))
    assert other.startswith('no Supervised reference')
