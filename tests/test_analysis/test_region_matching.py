"""tools/analysis/region_matching.py: what the supervised matching does with
the student queries RC2L's region losses teach."""
import os.path as osp

import pytest
import torch

from mmseg_reco.visualization import region_query_use
from mmseg_reco.visualization.region_matching import matched_class_probs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = osp.join(REPO, 'data', 'fashion_canvas')
RC2L = osp.join(REPO, 'configs/rc2l/'
                'rc2l_region-r18_1xb4-1k_fashion-canvas-60lab.py')


def test_region_query_use_by_hand():
    use = region_query_use
    # one image, ground truth: background (query 2) and class 1 (query 0);
    # class 3 is absent (its slot is not valid, its -1 never matches)
    gt_matched = torch.tensor([[2, 0, -1, 5]])
    gt_labels = torch.tensor([[0, 1, 2, 3]])
    gt_valid = torch.tensor([[True, True, False, False]])
    # regions: background on query 2 (same), background on query 0 (the
    # labels' class-1 query: other), class 1 on query 4 (no object),
    # class 3 on query 5 (its segment is absent: no object), an invalid
    # slot and an unmatched region (neither counted)
    region_matched = torch.tensor([[2, 0, 4, 5, 1, -1]])
    region_labels = torch.tensor([[0, 0, 1, 3, 2, 2]])
    region_valid = torch.tensor([[True, True, True, True, False, True]])
    counts = use(gt_matched, gt_labels, gt_valid, region_matched,
                 region_labels, region_valid, num_classes=4)
    assert counts.tolist() == [[1, 1, 0], [0, 0, 1], [0, 0, 0], [0, 0, 1]]
    # regions equal to the ground-truth segments, matched alike: all same
    same = use(gt_matched, gt_labels, gt_valid, gt_matched, gt_labels,
               gt_valid, num_classes=4)
    assert same[:, 1:].sum() == 0 and same[:, 0].sum() == 2


def test_matched_class_probs_by_hand():
    # two classes + 'no object'; query 0: (0.5, 0.25, 0.25), query 1:
    # (0.25, 0.25, 0.5)
    logits = torch.tensor([[[2., 1., 1.], [1., 1., 2.]]]).log()
    probs = logits.softmax(-1)
    gt_matched = torch.tensor([[1, 0]])  # class 0 -> query 1, 1 -> query 0
    counts, sums = matched_class_probs(logits, gt_matched,
                                       torch.tensor([[0, 1]]),
                                       torch.tensor([[True, True]]))
    assert counts.tolist() == [1.0, 1.0]
    expected = torch.tensor([[probs[0, 1, 0], probs[0, 1, 0], probs[0, 1, 2]],
                             [probs[0, 0, 1], probs[0, 0, 0], probs[0, 0, 2]]])
    assert torch.allclose(sums, expected)
    assert torch.allclose(sums, torch.tensor([[.25, .25, .5],
                                              [.25, .5, .25]]))
    # an absent or unmatched segment adds nothing
    counts, sums = matched_class_probs(logits, torch.tensor([[1, -1]]),
                                       torch.tensor([[0, 1]]),
                                       torch.tensor([[False, True]]))
    assert counts.sum() == 0 and sums.sum() == 0


def test_tool_counts_every_region_once(tools, initial_checkpoint, capsys):
    ckpt = initial_checkpoint(RC2L, osp.join(DATA, 'splits', 'val.txt'))
    # an untrained teacher is confident about nothing: no thresholds, so
    # that every segment is a region
    term = 'model.method_losses.0.'
    result = tools['region_matching'].main([
        RC2L, ckpt, '--max-images', '3', '--batch-size', '2',
        '--cfg-options', f'val_dataloader.dataset.data_root={DATA}',
        f'{term}thresholds.object=0.0', f'{term}thresholds.semantic=0.0',
        f'{term}thresholds.overlap=0.0'
    ])
    assert result['images'] == 3 and result['regions'] >= 3
    assert sum(result[u] for u in ('same class', 'other class',
                                   'no object')) == pytest.approx(100.0)
    lines = capsys.readouterr().out.splitlines()
    split = next(i for i, line in enumerate(lines)
                 if line.startswith('student queries matched'))

    def rows(part):
        return [line.split('|')[2:-1] for line in part
                if line.startswith('| ') and not line.startswith('| ---')
                and 'class |' not in line]

    assert sum(int(r[0]) for r in rows(lines[:split])) == result['regions']
    # the second table: mean probabilities of matched segments' queries
    probs = [float(v) for r in rows(lines[split:]) for v in r[1:]]
    assert probs and all(0 <= p <= 1 for p in probs)
    assert lines[-1] == f"{result['other class']:.1f}%"
    assert 0 <= result['object p(no object)'] <= 1
