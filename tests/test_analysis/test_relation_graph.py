"""Relation graph (ReCo Eq. 3): accumulation, matrix, pictures, the tool."""
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmseg_reco.visualization import (accumulate_class_sums, class_means,
                                      plot_dendrogram, plot_relation_graph,
                                      read_matrix_csv, relation_graph,
                                      write_matrix_csv)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_DATA = osp.join(REPO, 'data', 'fashion_canvas', 'splits', 'val.txt')

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
RECO_SEMI = ('configs/reco/'
             'reco-classmix_deeplabv3plus-r18-d8-rep_1xb4-1k_'
             'fashion-canvas-60lab.py')
RECO_SUP = ('configs/reco/'
            'reco-sup_deeplabv3plus-r18-d8-rep_1xb8-1k_fashion-canvas-full.py')
SUPERVISED = ('configs/baselines/'
              'supervised_deeplabv3plus-r18-d8_1xb4-1k_'
              'fashion-canvas-60lab.py')
CMB = 'configs/cmb/cmb_deeplabv3plus-r18-d8_1xb4-1k_fashion-canvas-60lab.py'
RC2L = 'configs/rc2l/rc2l_region-r18_1xb4-1k_fashion-canvas-60lab.py'


def is_png(path):
    with open(path, 'rb') as f:
        head = f.read(8)
    return head == PNG_MAGIC and osp.getsize(path) > 1000


def test_class_sums_match_masked_means():
    torch.manual_seed(0)
    feats = torch.randn(2, 5, 4, 4)
    # labels at twice the resolution: nearest downsampling takes the
    # top-left pixel of every 2x2 block
    small = torch.randint(0, 3, (2, 4, 4))
    small[0, 0, 0] = 255  # ignored
    small[1, 3, 3] = 7  # outside [0, K): ignored too
    labels = small.repeat_interleave(2, 1).repeat_interleave(2, 2)
    sums, counts = accumulate_class_sums(feats, labels, 4, 255)
    means = class_means(sums, counts)
    table = feats.permute(0, 2, 3, 1).reshape(-1, 5).double()
    flat = small.flatten()
    for c in range(3):
        assert counts[c] == (flat == c).sum()
        assert torch.allclose(means[c], table[flat == c].mean(0))
    assert counts[3] == 0 and torch.isnan(means[3]).all()
    assert counts.sum() == 2 * 16 - 2


def test_class_sums_accumulate_over_batches():
    torch.manual_seed(1)
    feats = torch.randn(3, 4, 2, 2)
    labels = torch.randint(0, 3, (3, 2, 2))
    whole = accumulate_class_sums(feats, labels, 3)
    part = accumulate_class_sums(feats[:1], labels[:1], 3)
    part = accumulate_class_sums(feats[1:], labels[1:], 3, 255, *part)
    assert torch.allclose(whole[0], part[0]) and torch.equal(whole[1],
                                                             part[1])


def test_relation_graph_symmetric_unit_diagonal():
    torch.manual_seed(2)
    means = torch.randn(4, 8).double()
    means[2] = float('nan')  # an absent class
    graph = relation_graph(means)
    present = [0, 1, 3]
    sub = graph[present][:, present]
    assert torch.allclose(sub, sub.t())
    assert torch.allclose(sub.diagonal(), torch.ones(3, dtype=sub.dtype))
    expected = F.cosine_similarity(means[0], means[3], dim=0)
    assert torch.isclose(graph[0, 3], expected)
    assert torch.isnan(graph[2]).all() and torch.isnan(graph[:, 2]).all()
    assert (sub.abs() <= 1).all()


def test_pictures_and_csv(tmp_path):
    torch.manual_seed(3)
    names = ['a', 'b c', 'd/e', 'absent']
    means = torch.randn(4, 6).double()
    means[3] = float('nan')
    graph = relation_graph(means).numpy()
    heatmap = str(tmp_path / 'graph.png')
    tree = str(tmp_path / 'tree.png')
    plot_relation_graph(graph, names, heatmap, title='t')
    plot_dendrogram(graph, names, tree, title='t')
    assert is_png(heatmap) and is_png(tree)
    csv_path = str(tmp_path / 'graph.csv')
    write_matrix_csv(graph, names, csv_path)
    matrix, read_names = read_matrix_csv(csv_path)
    assert read_names == names
    np.testing.assert_allclose(matrix[:3, :3], graph[:3, :3], atol=1e-4)
    assert np.isnan(matrix[3]).all()


def test_dendrogram_needs_two_classes(tmp_path):
    with pytest.raises(ValueError, match='two present classes'):
        plot_dendrogram(np.array([[1.0]]), ['a'], str(tmp_path / 'x.png'))


needs_demo = pytest.mark.needs_data(
    DEMO_DATA,
    reason='demo data missing: python tools/prepare_demo.py')


def save_initial(config, path, full=False):
    """A checkpoint of a freshly built model (no training needed); without
    ``full`` an empty state dict (the tool keeps the initial weights)."""
    state = {}
    if full:
        from mmseg.apis import init_model
        state = init_model(
            osp.join(REPO, config), None, device='cpu').state_dict()
    torch.save(dict(state_dict=state, meta={}), path)
    return path


def run_tool(tools, config, checkpoint, out, *extra):
    return tools['relation_graph'].main([
        osp.join(REPO, config), str(checkpoint), '--out', str(out),
        '--cfg-options', f'val_dataloader.dataset.data_root={REPO}/'
        'data/fashion_canvas', 'val_dataloader.dataset.indices=2', *extra
    ])


def check_written(written, names):
    for name in names:
        paths = written[name]
        matrix, classes = read_matrix_csv(paths['csv'])
        assert len(classes) == 11
        keep = ~np.isnan(np.diag(matrix))
        assert keep.sum() >= 2  # two canvases hold at least 3 classes
        sub = matrix[np.ix_(keep, keep)]
        np.testing.assert_allclose(sub, sub.T, atol=1e-4)
        np.testing.assert_allclose(np.diag(sub), 1.0, atol=1e-4)
        assert is_png(paths['heatmap']) and is_png(paths['dendrogram'])


@needs_demo
def test_tool_on_semi_reco_model(tools, tmp_path):
    """SemiSegmentor: the evaluated teacher's R and Z over 2 images."""
    ckpt = save_initial(RECO_SEMI, str(tmp_path / 'model.pth'), full=True)
    written = run_tool(tools, RECO_SEMI, ckpt, tmp_path / 'out',
                       '--embedding', 'rep', 'feat')
    check_written(written, ['rep', 'feat'])
    # R is the representation (128-d), Z the classifier input: they differ
    assert not np.allclose(written['rep']['matrix'],
                           written['feat']['matrix'], equal_nan=True)


@needs_demo
def test_tool_on_plain_encoder_decoder(tools, tmp_path):
    ckpt = save_initial(RECO_SUP, str(tmp_path / 'model.pth'))
    written = run_tool(tools, RECO_SUP, ckpt, tmp_path / 'out',
                       '--embedding', 'feat', 'rep', '--max-images', '1')
    check_written(written, ['feat', 'rep'])


@needs_demo
def test_tool_rep_needs_representation_head(tools, tmp_path):
    ckpt = save_initial(SUPERVISED, str(tmp_path / 'model.pth'))
    with pytest.raises(ValueError, match='no representation branch'):
        run_tool(tools, SUPERVISED, ckpt, tmp_path / 'out')
    # Z works for any mmseg decode head
    check_written(
        run_tool(tools, SUPERVISED, ckpt, tmp_path / 'out', '--embedding',
                 'feat'), ['feat'])


@needs_demo
def test_tool_on_memory_bank_projections(tools, tmp_path):
    ckpt = save_initial(CMB, str(tmp_path / 'model.pth'))
    check_written(run_tool(tools, CMB, ckpt, tmp_path / 'out'), ['rep'])


@needs_demo
def test_tool_on_region_head_mask_features(tools, tmp_path):
    """RC2L: Z is the RegionHead's per-pixel mask features."""
    ckpt = save_initial(RC2L, str(tmp_path / 'model.pth'))
    written = run_tool(tools, RC2L, ckpt, tmp_path / 'out', '--embedding',
                       'feat')
    check_written(written, ['feat'])
