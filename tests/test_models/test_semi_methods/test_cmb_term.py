import copy
import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.structures import PixelData

import mmseg_reco  # noqa: F401
import mmseg_reco.models.decode_heads.cmb_head  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_reco.models.losses.cmb_losses import (class_balance_weights,
                                                 cmb_contrastive_loss,
                                                 prediction_entropy,
                                                 weighted_pseudo_ce)
from mmseg_reco.models.augmentation.semi_batch import SemiBatch
from mmseg_reco.models.semi_methods.cmb_term import CMBTerm
from mmseg_reco.testing.cmb_reference import \
    cmb_contrastive_loss_reference as reference_contrastive_loss
from mmseg_reco.testing.tiny_models import (NORM, tiny_aspp_head,
                                            tiny_preprocessor, tiny_resnet)
from module_checks import assert_same_module


def _random_problem(seed=0, rows=50, num_classes=5, size=6, dim=8,
                    dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    pred = torch.randn(rows, dim, generator=g, dtype=dtype) * 3
    labels = torch.randint(-1, num_classes, (rows, ), generator=g)
    labels[labels == 3] = 4  # class 3 has no prediction
    pred_scores = torch.rand(rows, generator=g, dtype=dtype) * 0.9 + 0.05
    bank = torch.randn(num_classes, size, dim, generator=g, dtype=dtype)
    bank_valid = torch.rand(num_classes, size, generator=g) > 0.4
    bank_valid[1] = False  # class 1 has no entry
    bank_scores = torch.rand(num_classes, size, generator=g,
                             dtype=dtype) * 0.9 + 0.05
    return pred, labels, pred_scores, bank, bank_valid, bank_scores


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_matches_per_class_reference(seed):
    problem = _random_problem(seed)
    out = cmb_contrastive_loss(*problem)
    expected = reference_contrastive_loss(*problem)
    torch.testing.assert_close(out['loss'].double(), expected, rtol=1e-5,
                               atol=1e-6)
    labels, bank_valid = problem[1], problem[4]
    present = sum(
        int((labels == c).any() and bank_valid[c].any()) for c in range(5))
    assert int(out['num_classes']) == present


@pytest.mark.parametrize('seed', [0, 1])
def test_gradients_match_per_class_reference(seed):
    problem = list(_random_problem(seed, dtype=torch.float32))
    leaves = (0, 2, 5)  # pred, pred_scores, bank_scores

    def grads(fn):
        inputs = [t.clone().requires_grad_(i in leaves)
                  for i, t in enumerate(problem)]
        loss = fn(*inputs)
        loss = loss['loss'] if isinstance(loss, dict) else loss
        return torch.autograd.grad(loss, [inputs[i] for i in leaves])

    for got, expected in zip(grads(cmb_contrastive_loss),
                             grads(reference_contrastive_loss)):
        torch.testing.assert_close(got, expected.to(got.dtype), rtol=1e-4,
                                   atol=1e-6)


def test_class_weighted_unit_sum_gradcheck():
    from mmseg_reco.models.losses.cmb_losses import _ClassWeightedUnitSum
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(30, 5, generator=g, dtype=torch.float64)
    coef = torch.rand(30, generator=g, dtype=torch.float64)
    cls = torch.randint(0, 4, (30, ), generator=g)
    pred.requires_grad_(True)
    coef.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda p, c: _ClassWeightedUnitSum.apply(p, cls, c, 4), (pred, coef))


def test_bank_weights_are_really_normalised_per_class():
    pred, labels, pred_scores, bank, bank_valid, bank_scores = \
        _random_problem(3)
    base = cmb_contrastive_loss(pred, labels, pred_scores, bank, bank_valid,
                                bank_scores)['loss']
    # all-equal bank weights (what a permute bug yields) give another loss
    ones = cmb_contrastive_loss(pred, labels, pred_scores, bank, bank_valid,
                                torch.ones_like(bank_scores))['loss']
    assert not torch.allclose(base, ones)
    # scaling the scores of one class leaves Eq. 8's weights unchanged
    scaled = bank_scores.clone()
    scaled[2] *= 0.3
    again = cmb_contrastive_loss(pred, labels, pred_scores, bank, bank_valid,
                                 scaled)['loss']
    torch.testing.assert_close(base, again)


def test_gradients_reach_predictions_and_scores_not_the_bank():
    pred, labels, pred_scores, bank, bank_valid, bank_scores = [
        t.float() if t.is_floating_point() else t for t in _random_problem(4)
    ]
    pred.requires_grad_(True)
    pred_scores.requires_grad_(True)
    bank_scores.requires_grad_(True)
    out = cmb_contrastive_loss(pred, labels, pred_scores, bank, bank_valid,
                               bank_scores)
    out['loss'].backward()
    assert pred.grad.abs().sum() > 0
    assert pred_scores.grad.abs().sum() > 0
    assert bank_scores.grad.abs().sum() > 0
    assert bank.grad is None
    # rows without a class, or of a class without entries, get no gradient
    idle = (labels < 0) | (labels == 1)
    assert (pred.grad[idle] == 0).all()


def test_empty_bank_gives_zero_with_a_gradient_path():
    pred = torch.randn(10, 4, requires_grad=True)
    scores = torch.rand(10, requires_grad=True)
    bank = torch.zeros(3, 5, 4)
    out = cmb_contrastive_loss(pred, torch.randint(0, 3, (10, )), scores,
                               bank, torch.zeros(3, 5, dtype=torch.bool),
                               torch.rand(3, 5))
    assert out['loss'].item() == 0 and int(out['num_classes']) == 0
    out['loss'].backward()
    assert pred.grad is not None and (pred.grad == 0).all()
    assert torch.isfinite(pred.grad).all()


def test_identical_vectors_give_zero_and_opposite_give_two():
    bank = torch.tensor([[[1., 0.], [2., 0.]]])
    valid = torch.ones(1, 2, dtype=torch.bool)
    scores = torch.tensor([[0.3, 0.8]])
    same = cmb_contrastive_loss(torch.tensor([[5., 0.]]), torch.tensor([0]),
                                torch.tensor([0.5]), bank, valid, scores)
    assert abs(same['loss'].item()) < 1e-6
    opposite = cmb_contrastive_loss(torch.tensor([[-1., 0.]]),
                                    torch.tensor([0]), torch.tensor([0.5]),
                                    bank, valid, scores)
    assert abs(opposite['loss'].item() - 2.0) < 1e-6


def test_entropy_has_one_value_per_pixel():
    logits = torch.randn(2, 5, 3, 4)
    ent = prediction_entropy(logits)
    assert ent.shape == (2, 3, 4)
    prob = logits.softmax(1)
    torch.testing.assert_close(ent, -(prob * prob.log()).sum(1))
    uniform = prediction_entropy(torch.zeros(1, 5, 2, 2))
    torch.testing.assert_close(uniform, torch.full((1, 2, 2), math.log(5)))


def test_weighted_pseudo_ce_is_eq3_with_sharpened_confidence():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 4, 4)
    labels = torch.randint(0, 3, (2, 4, 4))
    labels[0, 0, 0] = 255
    conf = torch.rand(2, 4, 4)
    alpha = torch.tensor([0.5, 1.0, 2.0])
    loss = weighted_pseudo_ce(logits, labels, conf, 6.0, alpha, 255)
    logp = logits.log_softmax(1)
    total = 0.
    for n in range(2):
        for i in range(4):
            for j in range(4):
                y = int(labels[n, i, j])
                if y == 255:
                    continue
                total += -logp[n, y, i, j] * alpha[y] * conf[n, i, j]**6
    torch.testing.assert_close(loss, total / 32)


def test_class_balance_weights():
    alpha = class_balance_weights([100, 25, 400, 0])
    freq = torch.tensor([100, 25, 400]) / 525.
    median = freq.median()
    torch.testing.assert_close(alpha[:3], (median / freq).sqrt().float())
    assert alpha[3] == 1.0


# ----------------------------------------------------------------------
# CMBTerm inside the semi-supervised segmentor
NUM_CLASSES = 4
SEGMENTOR = dict(
    type='EncoderDecoder',
    data_preprocessor=tiny_preprocessor(32),
    backbone=tiny_resnet(),
    decode_head=dict(
        type='CMBHead',
        proj_dim=8,
        proj_hidden=8,
        attention_hidden=4,
        norm_cfg=NORM,
        decode_head=tiny_aspp_head(NUM_CLASSES)),
    test_cfg=dict(mode='whole'))


def _model(**loss_kwargs):
    """The tiny model; a dict argument updates the test's own dict."""
    torch.manual_seed(0)
    loss = dict(type='CMBTerm', num_classes=NUM_CLASSES,
                bank=dict(feat_dim=8, size=6, topk=2), warmup_iters=0)
    for key, value in loss_kwargs.items():
        loss[key] = (dict(loss[key], **value) if isinstance(value, dict)
                     and isinstance(loss.get(key), dict) else value)
    model = MODELS.build(
        dict(
            type='SemiSegmentor',
            segmentor=copy.deepcopy(SEGMENTOR),
            strong_aug=dict(
                type='StrongAugment', mix='classmix',
                num_classes=NUM_CLASSES),
            pseudo_loss=None,
            method_losses=[loss]))
    model.train()
    model.teacher.eval()  # running statistics: a deterministic teacher
    return model


def _teacher_view(model, inputs):
    """The teacher's projections, predictions and confidence (eval mode)."""
    with torch.no_grad():
        head = model.teacher.decode_head
        out = head.forward_train(model.teacher.extract_feat(inputs),
                                 with_pred=False)
        conf, cls = out['seg_logits'].softmax(1).max(1)
    return out['proj'], cls, conf


def _batch(model, paths=('city/a.png', 'city/b.png'), num_unlabelled=2,
           correct=None):
    """A SemiBatch whose labelled ground truth agrees with the teacher on
    the pixels of ``correct`` (N_l, 8, 8) and disagrees elsewhere."""
    torch.manual_seed(1)
    num_l = len(paths)
    inputs = torch.randn(num_l + num_unlabelled, 3, 32, 32)
    _, cls, _ = _teacher_view(model, inputs[:num_l])
    if correct is None:
        correct = torch.ones_like(cls, dtype=torch.bool)
    gt_small = torch.where(correct, cls, (cls + 1) % NUM_CLASSES)
    gt = gt_small.repeat_interleave(4, 1).repeat_interleave(4, 2)
    pseudo = torch.randint(0, NUM_CLASSES, (num_unlabelled, 32, 32))
    samples = []
    for path, label in zip(paths, gt):
        sample = SegDataSample()
        sample.set_metainfo(dict(img_path=path, img_shape=(32, 32)))
        sample.gt_sem_seg = PixelData(data=label[None])
        samples.append(sample)
    return SemiBatch(
        num_labelled=num_l,
        inputs=inputs,
        labels=torch.cat([gt, pseudo]),
        confidence=torch.cat(
            [torch.ones(num_l, 32, 32),
             torch.rand(num_unlabelled, 32, 32)]),
        data_samples=samples)


def _run(model, batch):
    feats = model.student.extract_feat(batch.inputs)
    outputs = model.student.decode_head.forward(feats)
    return model.method_losses[0](model.method_context(outputs, batch))


def test_grouped_arguments_default_to_the_flat_defaults():
    """The dict arguments' defaults are the values the term always had."""
    from mmseg_reco.models.semi_methods.cmb_term import CMBTerm
    term = CMBTerm(num_classes=NUM_CLASSES)
    assert (term.bank_size, term.feat_dim, term.conf_threshold, term.topk,
            term.topk_per, term.rank_with) == (256, 256, 0.95, None, 'image',
                                               'proj')
    assert tuple(term.bank.bank.shape) == (NUM_CLASSES, 256, 256)
    assert (term.loss_pseudo_weight, term.loss_ent_weight,
            term.loss_contr_weight) == (1.0, 0.01, 0.1)
    assert (term.sharpen, term.pseudo_warmup) == (6.0, 'step')
    assert term.class_weight is None
    assert (term.ent_normalise, term.ent_valid_only) == (False, False)
    assert (term.unlabelled_threshold, term.separate_contrastive,
            term.detach_attention_input) == (None, False, True)
    assert (term.num_labelled_images, term.warmup_iters,
            term.ignore_index, term.loss_name) == (None, 2000, 255, 'cmb')
    # one key set: the others keep their defaults
    term = CMBTerm(
        num_classes=NUM_CLASSES,
        bank=dict(size=32),
        loss_weights=dict(contr=1.0),
        pseudo=dict(class_weight=[1.0, 2.0, 3.0, 4.0]))
    assert (term.bank_size, term.feat_dim) == (32, 256)
    assert (term.loss_pseudo_weight, term.loss_contr_weight) == (1.0, 1.0)
    assert term.sharpen == 6.0
    assert term.class_weight.tolist() == [1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize('name', [
    'bank', 'loss_weights', 'pseudo', 'entropy', 'contrastive'])
def test_unknown_key_of_a_grouped_argument_raises(name):
    from mmseg_reco.models.semi_methods.cmb_term import CMBTerm
    with pytest.raises(ValueError) as error:
        CMBTerm(num_classes=NUM_CLASSES, **{name: dict(bank_size=32)})
    message = str(error.value)
    assert f'CMBTerm({name}=...)' in message and 'bank_size' in message
    assert str(sorted(CMBTerm.GROUP_DEFAULTS[name])) in message


#: every flat argument before the grouping, none at its default
FLAT = dict(
    bank_size=32, feat_dim=16, conf_threshold=0.9, topk=3,
    topk_per='batch', rank_with='pred', loss_pseudo_weight=0.5,
    loss_ent_weight=0.02, loss_contr_weight=0.3, sharpen=4.0,
    class_weight=[1.0, 2.0, 3.0, 4.0], pseudo_warmup='sigmoid',
    ent_normalise=True, ent_valid_only=True, unlabelled_threshold=0.7,
    separate_contrastive=True, detach_attention_input=False)
GROUPED = dict(
    bank=dict(size=32, feat_dim=16, conf_threshold=0.9, topk=3,
              topk_per='batch', rank_with='pred'),
    loss_weights=dict(pseudo=0.5, ent=0.02, contr=0.3),
    pseudo=dict(sharpen=4.0, class_weight=[1.0, 2.0, 3.0, 4.0],
                warmup='sigmoid'),
    entropy=dict(normalise=True, valid_only=True),
    contrastive=dict(unlabelled_threshold=0.7, separate=True,
                     detach_attention_input=False))


def test_flat_keys_of_before_the_grouping_build_the_grouped_term():
    """A config saved before the grouping builds the same term, with one
    DeprecationWarning per flat key naming its new place."""
    torch.manual_seed(0)
    with pytest.warns(DeprecationWarning) as record:
        old = MODELS.build(
            dict(type='CMBTerm', num_classes=NUM_CLASSES, **FLAT))
    torch.manual_seed(0)
    new = MODELS.build(
        dict(type='CMBTerm', num_classes=NUM_CLASSES, **GROUPED))
    assert_same_module(old, new)
    assert (old.bank_size, old.feat_dim, old.rank_with,
            old.loss_contr_weight, old.pseudo_warmup,
            old.separate_contrastive) == (32, 16, 'pred', 0.3, 'sigmoid',
                                          True)
    assert old.class_weight.tolist() == [1.0, 2.0, 3.0, 4.0]
    messages = [str(w.message) for w in record
                if issubclass(w.category, DeprecationWarning)]
    assert len(messages) == len(FLAT)
    assert ('CMBTerm: `bank_size=32` is deprecated, use `bank=dict(size=32)`'
            in messages)
    assert ('CMBTerm: `separate_contrastive=True` is deprecated, use '
            '`contrastive=dict(separate=True)`' in messages)
    # flat keys next to other keys of their group are merged into it
    with pytest.warns(DeprecationWarning, match='bank=dict\\(size=32\\)'):
        term = CMBTerm(num_classes=NUM_CLASSES, bank_size=32,
                       bank=dict(feat_dim=16))
    assert (term.bank_size, term.feat_dim) == (32, 16)


def test_flat_key_and_its_grouped_key_together_raise():
    with pytest.raises(TypeError) as error:
        CMBTerm(num_classes=NUM_CLASSES, bank_size=32, bank=dict(size=64))
    assert '`bank_size`' in str(error.value)
    assert '`bank=dict(size=...)`' in str(error.value)
    with pytest.raises(TypeError, match='loss_contr_weight'):
        MODELS.build(
            dict(type='CMBTerm', num_classes=NUM_CLASSES,
                 loss_contr_weight=1.0, loss_weights=dict(contr=0.1)))


def test_unknown_flat_key_raises_type_error():
    """``**legacy`` takes the old names only: a typo still fails."""
    with pytest.raises(TypeError,
                       match="unexpected keyword argument 'bank_sise'"):
        CMBTerm(num_classes=NUM_CLASSES, bank_sise=32)
    with pytest.raises(TypeError, match="unexpected keyword argument 'tau'"):
        MODELS.build(dict(type='CMBTerm', num_classes=NUM_CLASSES, tau=0.1))


def test_keys_and_warmup():
    model = _model(warmup_iters=5, bank=dict(conf_threshold=0.0))
    batch = _batch(model)
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 2)
    losses = _run(model, batch)
    assert set(losses) == {
        'loss_cmb_contr', 'loss_cmb_pseudo', 'loss_cmb_ent', 'cmb_contr',
        'cmb_classes', 'cmb_bank_fill'
    }
    assert losses['loss_cmb_pseudo'] == 0 and losses['loss_cmb_contr'] == 0
    assert losses['loss_cmb_ent'] > 0
    hub.update_info('iter', 5)
    model.method_losses[0].push_candidates()
    losses = _run(model, batch)
    assert losses['loss_cmb_pseudo'] > 0 and losses['loss_cmb_contr'] > 0
    hub.update_info('iter', 0)


def test_bank_candidates_pass_the_quality_filter_and_are_the_top_k():
    model = _model(bank=dict(conf_threshold=0.0))
    term = model.method_losses[0]
    correct = torch.zeros(2, 8, 8, dtype=torch.bool)
    correct[:, :, :5] = True  # teacher wrong on the right part
    batch = _batch(model, correct=correct)
    proj, cls, conf = _teacher_view(model, batch.inputs[:2])
    # the confidence filter: keep only the more confident half
    term.conf_threshold = float(conf.median())
    _run(model, batch)
    feats, labels = term.pop_candidates()
    assert feats.shape == (2 * NUM_CLASSES * 2, 8)
    feats = feats.view(2, NUM_CLASSES, 2, 8)
    labels = labels.view(2, NUM_CLASSES, 2)
    head = model.teacher.decode_head
    rows = proj.permute(0, 2, 3, 1).reshape(2, 64, 8)
    gt = torch.where(correct, cls, (cls + 1) % NUM_CLASSES).view(2, 64)
    fqf = (correct & (conf > term.conf_threshold)).view(2, 64)
    with torch.no_grad():
        scores = head.proj_attention(rows.reshape(-1, 8), gt.reshape(-1),
                                     fqf.reshape(-1)).view(2, 64)
    assert (labels >= 0).any()
    for n in range(2):
        for c in range(NUM_CLASSES):
            allowed = fqf[n] & (gt[n] == c)
            best = scores[n][allowed].sort(descending=True).values[:2]
            chosen = labels[n, c] == c
            assert int(chosen.sum()) == min(2, int(allowed.sum()))
            assert (labels[n, c][~chosen] == -1).all()
            for k in torch.nonzero(chosen).flatten().tolist():
                match = (rows[n] == feats[n, c, k]).all(1)
                assert match.any()
                pixel = int(torch.nonzero(match)[0])
                assert allowed[pixel]  # correct, confident and of class c
                torch.testing.assert_close(scores[n, pixel], best[k])


def test_source_domain_features_never_enter_the_bank():
    model = _model(
        bank=dict(conf_threshold=0.0, topk=16),
        source_domain=dict(key='img_path', pattern=r'gta5'))
    term = model.method_losses[0]
    batch = _batch(
        model, paths=('data/gta5/images/0.png', 'city/x.png', 'city/y.png'))
    seen = []
    model.teacher.backbone.register_forward_pre_hook(
        lambda module, args: seen.append(args[0].clone()))
    _run(model, batch)
    # the teacher saw the two target images only
    assert len(seen) == 1 and seen[0].shape[0] == 2
    assert torch.equal(seen[0], batch.inputs[1:3])
    feats, labels = term.pop_candidates()
    labels = labels.view(3, NUM_CLASSES, 16)
    assert (labels[0] == -1).all()  # no candidate from the source image
    assert (labels[1:] >= 0).any()
    term._candidates = (feats, labels.view(-1))
    term.push_candidates()
    per_class = (labels >= 0).sum((0, 2)).clamp(max=6)
    assert torch.equal(term.bank.count, per_class)
    # the source image's labels still count in the contrastive loss
    batch.labels[1:3] = 255
    assert _run(model, batch)['cmb_classes'] > 0


def test_contrastive_gradient_reaches_the_student_not_the_bank():
    model = _model(bank=dict(conf_threshold=0.0))
    term = model.method_losses[0]
    batch = _batch(model)
    _run(model, batch)
    term.push_candidates()
    before = term.bank.bank.clone()
    losses = _run(model, batch)
    assert losses['cmb_classes'] > 0
    losses['loss_cmb_contr'].backward()
    head = model.student.decode_head
    assert head.pred_branch[1].weight.grad.abs().sum() > 0
    assert head.rep_branch[1].weight.grad.abs().sum() > 0
    assert head.proj_attention.weight1.grad.abs().sum() > 0
    assert head.pred_attention.weight1.grad.abs().sum() > 0
    assert not term.bank.bank.requires_grad
    assert torch.equal(term.bank.bank, before)
    assert all(p.grad is None for p in model.teacher.parameters())


def test_separate_contrastive_sums_the_labelled_and_unlabelled_terms():
    model = _model(
        contrastive=dict(separate=True), bank=dict(conf_threshold=0.0))
    term = model.method_losses[0]
    batch = _batch(model)
    _run(model, batch)
    term.push_candidates()
    losses = _run(model, batch)
    head = model.student.decode_head
    # eval mode: each row's attention score does not depend on which other
    # rows take part, so each part can be computed on its own below
    head.eval()
    with torch.no_grad():
        pred = head.forward_train(model.student.extract_feat(batch.inputs))
    pred = pred['pred']
    num_l = batch.num_labelled
    separate = term.contrastive(head, pred, batch)['loss']
    term.separate_contrastive = False
    joint = term.contrastive(head, pred, batch)['loss']
    parts = []
    for images in (slice(num_l, None), slice(0, num_l)):  # left out
        labels = batch.labels.clone()
        labels[images] = 255
        parts.append(
            term.contrastive(head, pred, dataclasses.replace(
                batch, labels=labels))['loss'])
    assert all(part > 0 for part in parts)
    torch.testing.assert_close(separate, parts[0] + parts[1])
    assert not torch.allclose(separate, joint)
    assert losses['cmb_contr'] > 0
    assert torch.isfinite(losses['loss_cmb_contr'])


def test_runs_under_autocast_and_keeps_the_bank_in_float32():
    model = _model(bank=dict(conf_threshold=0.0))
    term = model.method_losses[0]
    batch = _batch(model)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        _run(model, batch)
        term.push_candidates()
        losses = _run(model, batch)
    assert term.bank.bank.dtype == torch.float32
    assert int(term.bank.count.sum()) > 0
    for key, value in losses.items():
        assert torch.isfinite(value).all(), key
    assert losses['loss_cmb_contr'].dtype == torch.float32
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()


def test_authors_ranking_options_keep_the_fixed_candidate_layout():
    model = _model(
        bank=dict(conf_threshold=0.0, topk_per='batch', rank_with='pred'))
    term = model.method_losses[0]
    batch = _batch(model)
    _run(model, batch)
    feats, labels = term.pop_candidates()
    assert feats.shape == (2 * NUM_CLASSES * 2, 8)
    # slots (image, class, k); per class, the ranks over the whole batch
    # fill image 0's K slots, then image 1's
    by_rank = feats.view(2, NUM_CLASSES, 2, 8).transpose(0, 1).reshape(
        NUM_CLASSES, 4, 8)
    rank_labels = labels.view(2, NUM_CLASSES, 2).transpose(0, 1).reshape(
        NUM_CLASSES, 4)
    # expected: the teacher's projections of the 2 x K pixels of each class
    # that the prediction attention scores highest over the labelled batch
    # (_batch's labels agree with the teacher: every pixel passes the FQF)
    head = model.teacher.decode_head
    with torch.no_grad():
        out = head.forward_train(
            model.teacher.extract_feat(batch.inputs[:2]), with_pred=True)
        proj = out['proj'].permute(0, 2, 3, 1).reshape(-1, 8)
        pred = out['pred'].permute(0, 2, 3, 1).reshape(-1, 8)
        gt = out['seg_logits'].argmax(1).reshape(-1)
        scores = head.pred_attention(pred, gt, torch.ones_like(gt).bool())
    filled = 0
    for c in range(NUM_CLASSES):
        rows = torch.nonzero(gt == c).squeeze(1)
        top = rows[torch.sort(scores[rows], descending=True,
                              stable=True).indices[:4]]
        assert rank_labels[c, :len(top)].eq(c).all()
        assert rank_labels[c, len(top):].eq(-1).all()
        torch.testing.assert_close(by_rank[c, :len(top)], proj[top])
        filled += len(top)
    assert filled > 0


def test_sigmoid_pseudo_warmup_ramps_where_the_step_is_zero():
    hub = MessageHub.get_current_instance()
    step = _model(warmup_iters=10).method_losses[0]
    sigmoid = _model(
        warmup_iters=10, pseudo=dict(warmup='sigmoid')).method_losses[0]
    assert step.warmup_factor('pseudo', 5) == 0.0
    assert sigmoid.warmup_factor('pseudo',
                                 5) == pytest.approx(math.exp(-5 * 0.5**2))
    # the contrastive loss keeps the step in either variant
    assert sigmoid.warmup_factor('contr', 5) == 0.0
    assert sigmoid.warmup_factor('pseudo', 10) == 1.0
    # the segmentor hands the terms MessageHub's iteration
    model = _model(warmup_iters=10)
    try:
        hub.update_info('iter', 5)
        batch = _batch(model)
        assert model.method_context(None, batch).iteration == 5
    finally:
        hub.update_info('iter', 0)


def test_entropy_variants_normalise_by_log_k_and_keep_labelled_pixels():
    model = _model(bank=dict(conf_threshold=0.0))
    for module in model.student.modules():  # the same logits in each call
        if isinstance(module, torch.nn.Dropout2d):
            module.eval()
    term = model.method_losses[0]
    batch = _batch(model)
    ignored = batch.labels.clone()
    ignored[batch.num_labelled:, :16] = 255  # top half unlabelled: ignored
    batch = dataclasses.replace(batch, labels=ignored)
    with torch.no_grad():
        plain = _run(model, batch)['loss_cmb_ent']
        term.ent_normalise = True
        normalised = _run(model, batch)['loss_cmb_ent']
        term.ent_valid_only = True
        valid_only = _run(model, batch)['loss_cmb_ent']
        outputs = model.student.decode_head.forward(
            model.student.extract_feat(batch.inputs))
    torch.testing.assert_close(normalised,
                               plain / math.log(NUM_CLASSES))
    logits = F.interpolate(outputs['seg_logits'][batch.num_labelled:],
                           size=(32, 32), mode='bilinear',
                           align_corners=False)
    entropy = prediction_entropy(logits) / math.log(NUM_CLASSES)
    torch.testing.assert_close(valid_only, entropy[:, 16:].mean() *
                               term.loss_ent_weight)


def test_unlabelled_threshold_leaves_unconfident_rows_out_of_the_contrast():
    model = _model(bank=dict(conf_threshold=0.0))
    term = model.method_losses[0]
    batch = _batch(model)
    _run(model, batch)
    term.push_candidates()
    head = model.student.decode_head
    head.eval()
    with torch.no_grad():
        pred = head.forward_train(model.student.extract_feat(batch.inputs))
        pred = pred['pred']
        base = term.contrastive(head, pred, batch)['loss']
        term.unlabelled_threshold = 2.0  # no pseudo-label passes
        strict = term.contrastive(head, pred, batch)['loss']
        labels = batch.labels.clone()
        labels[batch.num_labelled:] = 255
        labelled_only = term.contrastive(
            head, pred, dataclasses.replace(batch, labels=labels))['loss']
    assert not torch.allclose(base, strict)
    torch.testing.assert_close(strict, labelled_only)


def test_detach_attention_input_stops_the_attention_gradient_at_the_rows():
    grads = {}
    for detach in (True, False):
        model = _model(
            bank=dict(conf_threshold=0.0),
            contrastive=dict(detach_attention_input=detach))
        term = model.method_losses[0]
        batch = _batch(model)
        _run(model, batch)
        term.push_candidates()
        head = model.student.decode_head
        pred = head.forward_train(
            model.student.extract_feat(batch.inputs))['pred']
        pred.retain_grad()
        term.contrastive(head, pred, batch)['loss'].backward()
        grads[detach] = pred.grad.clone()
    # the detached variant keeps only the loss's own path to the rows
    assert not torch.allclose(grads[True], grads[False])
