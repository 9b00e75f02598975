"""Training under ReCo's partial-label protocol (arXiv 2104.04465, Table 3):
the unlabelled marker, ground truth over pseudo-labels, and the confident
student pixels in the labelled ReCo mask."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.runner import Runner
from mmengine.structures import PixelData

import mmseg_reco  # noqa: F401
import mmseg_reco.datasets.transforms.mark_unlabelled  # noqa: F401
from mmseg.registry import MODELS, TRANSFORMS
from mmseg.structures import SegDataSample
from mmseg_reco.models.augmentation.semi_batch import SemiBatch
from mmseg_reco.testing.tiny_models import tiny_segmentor

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
DEMO_CONFIG = ('configs/reco/'
               'reco-classmix_deeplabv3plus-r18-d8-rep_1xb4-1k_fashion-canvas-'
               'p1pct.py')
DEMO_SPLIT = osp.join(REPO, 'data/fashion_canvas/splits/labelled-p1pct.txt')
IGNORE = 255
NUM_CLASSES = 4
SIZE = 32
SEGMENTOR = tiny_segmentor(NUM_CLASSES, SIZE)
RECO = dict(
    type='ReCoTerm',
    partial_threshold=0.97,
    loss=dict(type='ReCoLoss', num_queries=8, num_negatives=16))


def build_model():
    return MODELS.build(
        ConfigDict(
            type='SemiSegmentor',
            segmentor=copy.deepcopy(SEGMENTOR),
            strong_aug=dict(type='StrongAugment', mix='classmix'),
            method_losses=[RECO]))


def sample(label=None, marked=False):
    """A SegDataSample packed by the real pipeline end (PackSegInputs)."""
    results = dict(
        img=np.zeros((SIZE, SIZE, 3), np.uint8),
        img_shape=(SIZE, SIZE),
        ori_shape=(SIZE, SIZE))
    if label is not None:
        results['gt_seg_map'] = label.numpy().astype(np.uint8)
        results['seg_fields'] = ['gt_seg_map']
    if marked:
        results = TRANSFORMS.build(dict(type='MarkUnlabelled'))(results)
    pack = TRANSFORMS.build(
        dict(
            type='PackSegInputs',
            meta_keys=('img_shape', 'ori_shape', 'unlabelled')))
    packed = pack(results)
    packed['inputs'] = torch.randint(0, 256, (3, SIZE, SIZE),
                                     dtype=torch.uint8)
    return packed


def partial_label(known_share=0.2, seed=0):
    """(H, W) labels, ``IGNORE`` outside a random ``known_share``."""
    gen = torch.Generator().manual_seed(seed)
    label = torch.randint(0, NUM_CLASSES, (SIZE, SIZE), generator=gen)
    unknown = torch.rand(SIZE, SIZE, generator=gen) >= known_share
    return label.masked_fill(unknown, IGNORE)


def test_mark_unlabelled_sets_the_marker():
    results = TRANSFORMS.build(dict(type='MarkUnlabelled'))(dict(a=1))
    assert results == dict(a=1, unlabelled=True)


def test_split_batch_honours_the_marker():
    model = build_model()
    packed = [
        sample(partial_label(seed=0)),  # labelled
        sample(partial_label(seed=1), marked=True),  # unlabelled, has gt
        sample(),  # unlabelled, no gt
        sample(partial_label(seed=2)),  # labelled
    ]
    assert packed[1]['data_samples'].metainfo['unlabelled'] is True
    assert 'unlabelled' not in packed[0]['data_samples'].metainfo
    inputs = torch.stack([p['inputs'] for p in packed]).float()
    samples = [p['data_samples'] for p in packed]
    sup_in, sup, unsup_in, unsup = model.split_batch(inputs, samples)
    assert sup == [samples[0], samples[3]]
    assert unsup == [samples[1], samples[2]]
    assert torch.equal(sup_in, inputs[[0, 3]])
    assert torch.equal(unsup_in, inputs[[1, 2]])
    # marked samples alone are not a labelled batch
    with pytest.raises(ValueError, match='no labelled'):
        model.split_batch(inputs[1:3], samples[1:3])


def test_ground_truth_overrides_pseudo_labels_only_where_known():
    model = build_model()
    gen = torch.Generator().manual_seed(0)
    pseudo = torch.randint(0, NUM_CLASSES, (3, SIZE, SIZE), generator=gen)
    conf = torch.rand(3, SIZE, SIZE, generator=gen) * 0.9
    gts = [partial_label(seed=3), None, partial_label(seed=4)]
    samples = []
    for gt in gts:
        s = SegDataSample()
        if gt is not None:
            s.gt_sem_seg = PixelData(data=gt[None])
        samples.append(s)
    merged, merged_conf = model.merge_partial_labels(pseudo, conf, samples)
    for i, gt in enumerate(gts):
        if gt is None:  # an unlabelled sample without labels
            gt = torch.full((SIZE, SIZE), IGNORE)
        known = gt != IGNORE
        assert torch.equal(merged[i][known], gt[known])
        assert (merged_conf[i][known] == 1).all()
        assert torch.equal(merged[i][~known], pseudo[i][~known])
        assert torch.equal(merged_conf[i][~known], conf[i][~known])
    # no ground truth at all: unchanged
    same, same_conf = model.merge_partial_labels(pseudo, conf,
                                                 [SegDataSample()] * 3)
    assert same is pseudo and same_conf is conf


def test_full_ground_truth_reaches_the_strong_view_with_confidence_one():
    """Ground truth is merged before the strong view: with every pixel of
    the unlabelled images known, eta (the share of pixels with confidence
    >= 0.97) is 1, while the untrained teacher is far less confident."""
    torch.manual_seed(0)
    model = build_model()
    model.train()
    full = [torch.randint(0, NUM_CLASSES, (SIZE, SIZE)) for _ in range(2)]
    packed = [sample(partial_label(seed=5)), sample(partial_label(seed=6))]
    packed += [sample(gt, marked=True) for gt in full]
    data = model.data_preprocessor(
        dict(
            inputs=[p['inputs'] for p in packed],
            data_samples=[p['data_samples'] for p in packed]), True)
    losses = model.loss(**data)
    assert losses['unsup_confident_ratio'] == pytest.approx(1.0)
    assert torch.isfinite(losses['unsup_loss_reco'])
    _, conf, _ = model.get_pseudo_labels(data['inputs'][2:], [])
    assert (conf < 0.97).float().mean() > 0.5


def reco_batch(logits_l, labels_l, labels_u):
    num = labels_l.shape[0]
    labels = torch.cat([labels_l, labels_u])
    return SemiBatch(
        num_labelled=num,
        inputs=torch.zeros(labels.shape[0], 3, SIZE, SIZE),
        labels=labels,
        confidence=torch.cat(
            [torch.ones(labels_l.shape),
             torch.full(labels_u.shape, 0.8)]),
        data_samples=[],
        ignore_index=IGNORE)


def confident_logits(num, seed):
    """(num, K, H, W) logits: a confident class (softmax > 0.99) on about
    half of the pixels, nearly flat elsewhere."""
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(num, NUM_CLASSES, SIZE, SIZE, generator=gen) * 0.1
    pred = torch.randint(0, NUM_CLASSES, (num, SIZE, SIZE), generator=gen)
    sure = torch.rand(num, SIZE, SIZE, generator=gen) < 0.5
    boost = torch.nn.functional.one_hot(pred, NUM_CLASSES).permute(0, 3, 1, 2)
    return logits + 8.0 * boost * sure[:, None], pred, sure


def test_labelled_reco_mask_gains_exactly_the_confident_student_pixels():
    loss = MODELS.build(RECO)
    logits_l, pred, sure = confident_logits(2, seed=7)
    labels_l = torch.stack([partial_label(seed=8), partial_label(seed=9)])
    labels_u = torch.full((1, SIZE, SIZE), IGNORE)
    logits = torch.cat([logits_l, logits_l[:1]])  # unlabelled also confident
    batch = reco_batch(logits_l, labels_l, labels_u)
    labels = loss.fill_confident_predictions(logits, batch)

    known = labels_l != IGNORE
    conf = torch.softmax(logits_l, dim=1).max(dim=1).values
    confident = conf >= 0.97
    assert torch.equal(confident, sure)  # the fixture is unambiguous
    # labelled pixels taking part = ground truth + confident student pixels
    assert torch.equal(labels[:2] != IGNORE, known | sure)
    assert torch.equal(labels[:2][known], labels_l[known])  # gt wins
    assert torch.equal(labels[:2][~known & sure], pred[~known & sure])
    # the unlabelled images keep their (pseudo-)labels
    assert torch.equal(labels[2:], labels_u)
    assert not labels.requires_grad


def test_reco_term_uses_the_filled_labels():
    torch.manual_seed(0)
    model = build_model()
    model.train()
    head = model.student.decode_head
    feats = model.student.extract_feat(torch.randn(3, 3, SIZE, SIZE))
    logits, rep = head.forward(feats)
    labels_l = torch.stack([partial_label(seed=10), partial_label(seed=11)])
    labels_u = torch.randint(0, NUM_CLASSES, (1, SIZE, SIZE))
    batch = reco_batch(logits[:2], labels_l, labels_u)
    term = MODELS.build(dict(RECO, partial_threshold=0.3))
    filled = term.fill_confident_predictions(logits, batch,
                                             model.align_corners)
    assert (filled[:2] != IGNORE).sum() > (labels_l != IGNORE).sum()

    torch.manual_seed(1)
    out = term(model.method_context((logits, rep), batch))
    torch.manual_seed(1)
    expected = head.loss_rep_by_feat(
        logits, rep, filled, batch.confidence >= term.weak_threshold,
        loss_rep=term.loss)
    torch.testing.assert_close(out['loss_reco'], expected['loss_reco'])
    # without partial_threshold the ground truth alone is used
    plain = MODELS.build(dict(RECO, partial_threshold=None))
    torch.manual_seed(1)
    out = plain(model.method_context((logits, rep), batch))
    torch.manual_seed(1)
    expected = head.loss_rep_by_feat(
        logits, rep, batch.labels, batch.confidence >= plain.weak_threshold,
        loss_rep=plain.loss)
    torch.testing.assert_close(out['loss_reco'], expected['loss_reco'])


@pytest.mark.needs_data(
    DEMO_SPLIT,
    reason='demo partial labels missing: python tools/make_splits.py '
    'partial --dataset fashion_canvas --data-root data/fashion_canvas '
    '--share 1%')
def test_demo_partial_config_trains(tmp_path):
    iters = 3
    cfg = Config.fromfile(osp.join(REPO, DEMO_CONFIG))
    cfg.work_dir = str(tmp_path)
    loader = cfg.train_dataloader
    loader.num_workers = 0
    loader.persistent_workers = False
    for sub in loader.dataset.datasets:
        sub.data_root = osp.join(REPO, 'data/fashion_canvas')
    loader.batch_size = loader.sampler.batch_size = 4
    loader.sampler.num_labelled = 2
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters + 1
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1)
    cfg.default_hooks.logger.interval = 1
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    assert runner.model.method_losses[0].partial_threshold == 0.97
    # the unlabelled half is the training set again, with partial labels
    labelled, unlabelled = runner.train_dataloader.dataset.datasets
    assert len(labelled) == len(unlabelled) == 2000
    item = unlabelled[0]['data_samples']
    assert item.metainfo['unlabelled'] is True
    assert 'train_p1pct' in item.metainfo['seg_map_path']
    runner.train()
    logs = runner.message_hub.log_scalars
    for key in ('train/sup_decode.loss_ce', 'train/unsup_loss_pseudo_ce',
                'train/unsup_loss_reco'):
        assert torch.isfinite(torch.tensor(logs[key].current())), key
