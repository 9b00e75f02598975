"""FixMatch and UniMatch inside SemiSegmentor: the feature-perturbation
branch, the second strong view, the self-teacher and the authors' loss
weighting, all by value (the confident pseudo-label CE:
tests/test_models/test_losses/test_confident_pseudo_ce_loss.py)."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.structures import PixelData

import mmseg_reco  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_reco.models.augmentation import WeakPass
from mmseg_reco.models.utils import FeatureDropout, head_logits
from mmseg_reco.testing.tiny_models import tiny_segmentor

NUM_CLASSES = 4
SIZE = 32


def build(teacher='self', views=2, fp=True, representation=True, **kwargs):
    terms = [dict(type='WeakToStrongTerm', threshold=0.95,
                  loss_weight=0.25 / 2)]
    if fp:
        terms.append(dict(type='FeaturePerturbationTerm', threshold=0.95,
                          loss_weight=0.5 / 2))
    cfg = dict(
        type='SemiSegmentor',
        segmentor=tiny_segmentor(NUM_CLASSES, SIZE, representation),
        teacher=teacher,
        strong_aug=dict(type='StrongAugment', mix='cutmix'),
        sup_aug=None,
        pseudo_loss=None,
        method_losses=terms,
        semi_train_cfg=dict(sup_weight=0.5, strong_views=views))
    cfg.update(kwargs)
    return MODELS.build(ConfigDict(cfg))


def batch(num_labelled=2, num_unlabelled=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(num_labelled + num_unlabelled):
        inputs.append(torch.randint(0, 256, (3, SIZE, SIZE),
                                    dtype=torch.uint8, generator=gen))
        sample = SegDataSample(metainfo=dict(img_shape=(SIZE, SIZE),
                                             ori_shape=(SIZE, SIZE)))
        if i < num_labelled:
            sample.gt_sem_seg = PixelData(data=torch.randint(
                0, NUM_CLASSES, (1, SIZE, SIZE), generator=gen))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def split(model, seed=0):
    data = model.data_preprocessor(batch(seed=seed), True)
    return model.split_batch(data['inputs'], data['data_samples'])


# ------------------------------------------------------ feature dropout
def test_feature_dropout_drops_channels_in_train_mode_only():
    torch.manual_seed(0)
    feats = [torch.rand(2, 16, 4, 4) + 1, torch.rand(2, 32, 2, 2) + 1]
    drop = FeatureDropout(p=0.5)
    drop.eval()
    for out, feat in zip(drop(feats), feats):
        assert torch.equal(out, feat)
    drop.train()
    outs = drop(feats)
    masks = []
    for out, feat in zip(outs, feats):
        # whole channels are zeroed or scaled by 1 / (1 - p)
        kept = (out != 0).flatten(2).all(2)
        dropped = (out == 0).flatten(2).all(2)
        assert torch.all(kept | dropped)
        assert dropped.any() and kept.any()
        torch.testing.assert_close(out, feat * 2 * kept[..., None, None])
        masks.append(kept)
    # c1 and c4 get their own draws
    assert not torch.equal(masks[0], masks[1][:, :16])


# --------------------------------------------------- the self-teacher
def test_self_teacher_has_no_second_copy_and_loads_plain_checkpoints():
    model = build()
    assert model.teacher is model.student
    keys = list(model.state_dict())
    assert not any(k.startswith('teacher.') for k in keys)
    plain = {k[len('student.'):]: torch.full_like(v, 0.5)
             for k, v in model.state_dict().items()
             if k.startswith('student.') and v.is_floating_point()}
    missing, unexpected = model.load_state_dict(plain, strict=False)
    assert not unexpected
    weight = model.student.backbone.stem[0].weight
    assert torch.all(weight == 0.5)


def test_bad_teacher_and_joint_forward_raise():
    with pytest.raises(ValueError, match="teacher must be one of"):
        build(teacher='mean')
    with pytest.raises(ValueError, match="student_forward='separate'"):
        build(semi_train_cfg=dict(student_forward='joint'))


def test_fixmatch_pseudo_labels_come_from_the_students_own_weights():
    model = build(views=1, fp=False)
    model.train()
    sup, sup_samples, unsup, unsup_samples = split(model)
    num = sup.shape[0]
    torch.manual_seed(3)
    weak = model.weak_pass(sup, unsup, unsup_samples)
    # the same pass by hand: labelled + weak images through the student
    torch.manual_seed(3)
    student = model.student
    logits = head_logits(student.decode_head.forward(
        student.extract_feat(torch.cat([sup, unsup]))))[num:]
    prob = torch.softmax(F.interpolate(logits, size=(SIZE, SIZE),
                                       mode='bilinear'), 1)
    conf, pseudo = prob.max(1)
    assert torch.equal(weak.labels, pseudo)
    torch.testing.assert_close(weak.confidence, conf)
    assert not weak.labels.requires_grad
    assert weak.labelled_outputs[0].requires_grad
    # change the student's classifier: the very next pseudo-labels follow
    classifier = student.decode_head.decode_head.conv_seg
    with torch.no_grad():
        classifier.bias[2] += 100.
    weak = model.weak_pass(sup, unsup, unsup_samples)
    assert torch.all(weak.labels == 2)
    assert torch.all(weak.confidence > 0.999)


# --------------------------------------------------------- the views
def test_two_strong_views_differ_and_carry_the_same_weak_prediction():
    model = build(strong_aug=dict(type='StrongAugment', mix='cutmix',
                                  flip_prob=0.0))
    model.train()
    sup, sup_samples, unsup, unsup_samples = split(model)
    pseudo = torch.arange(2)[:, None, None].expand(2, SIZE, SIZE).clone()
    conf = torch.rand(2, SIZE, SIZE)
    torch.manual_seed(0)
    out = model.strong_view(sup, sup_samples, WeakPass(unsup, pseudo, conf))
    assert out.num_views == 2 and out.inputs.shape[0] == 2 + 2 * 2
    views = out.labels[2:].reshape(2, 2, SIZE, SIZE)
    confs = out.confidence[2:].reshape(2, 2, SIZE, SIZE)
    images = out.inputs[2:].reshape(2, 2, 3, SIZE, SIZE)
    assert not torch.equal(images[0], images[1])
    boxes = []
    for v in range(2):
        # each pixel holds its own image's weak label or its partner's,
        # with the matching confidence (no flip, no rescale)
        own = views[v] == pseudo
        partner = views[v] == pseudo.roll(-1, 0)
        assert torch.all(own | partner)
        assert partner.any() and own.any()
        expected = torch.where(own, conf, conf.roll(-1, 0))
        assert torch.equal(confs[v], expected)
        boxes.append(partner)
    assert not torch.equal(boxes[0], boxes[1])


# -------------------------------------------- the fp branch and passes
def _record_calls(monkeypatch, module, store):
    """Record the feature list of every ``module.forward`` call (the
    segmentor calls ``head.forward`` directly, past the module hooks)."""
    forward = module.forward

    def recording(feats, *args, **kwargs):
        store.append([f.detach().clone() for f in feats])
        return forward(feats, *args, **kwargs)

    monkeypatch.setattr(module, 'forward', recording)


@pytest.mark.parametrize('representation', [True, False])
def test_fp_dropout_reaches_the_head_in_its_branch_only(
        representation, monkeypatch):
    model = build(representation=representation)
    model.train()
    data = model.data_preprocessor(batch(), True)
    head = model.student.decode_head
    inner = getattr(head, 'decode_head', head)
    head_calls, inner_calls, backbone_sizes = [], [], []
    _record_calls(monkeypatch, head, head_calls)
    if representation:
        _record_calls(monkeypatch, inner, inner_calls)
    handle = model.student.backbone.register_forward_pre_hook(
        lambda _, args: backbone_sizes.append(args[0].shape[0]))
    losses = model.loss(data['inputs'], data['data_samples'])
    handle.remove()
    # one backbone pass for labelled + weak (shared with fp), one for the
    # two strong views: the authors' sharing
    assert backbone_sizes == [4, 4]
    # the head: labelled + weak, the strong views, the weak view perturbed
    assert [c[0].shape[0] for c in head_calls] == [4, 4, 2]
    clean, strong, perturbed = head_calls
    for feat, drop in zip(clean, perturbed):
        weak = feat[2:]
        kept = (drop != 0).flatten(2).any(2)
        torch.testing.assert_close(drop, weak * 2 * kept[..., None, None])
        assert (~kept).any(), 'no channel dropped'
    # the other two passes get the backbone's features untouched
    for call in (clean, strong):
        assert all((f != 0).flatten(2).any(2).all() for f in call)
    if representation:
        # the wrapped head receives the same perturbed list
        for a, b in zip(inner_calls[2], perturbed):
            assert torch.equal(a, b)
    assert set(losses) >= {'unsup_loss_strong_1', 'unsup_loss_strong_2',
                           'unsup_loss_fp', 'unsup_mask_ratio'}


def test_fp_changes_the_prediction_only_in_train_mode():
    model = build()
    term = model.method_losses[1]
    data = model.data_preprocessor(batch(), True)
    feats = model.student.extract_feat(data['inputs'][2:])
    head = model.student.decode_head
    model.eval()
    with torch.no_grad():
        clean = head_logits(head.forward(feats))
        assert torch.equal(
            head_logits(head.forward(term.perturbation(feats))), clean)
    term.train()
    with torch.no_grad():
        assert not torch.allclose(
            head_logits(head.forward(term.perturbation(feats))), clean)


def _raw_losses(model, data, seed):
    torch.manual_seed(seed)
    return model.loss(copy.deepcopy(data['inputs']),
                      copy.deepcopy(data['data_samples']))


def test_unimatch_total_is_the_authors_weighting():
    weighted = build()
    weighted.train()
    for term in weighted.method_losses:
        term.threshold = 0.0  # every pixel counts: no zero term
    raw = copy.deepcopy(weighted)
    raw.semi_train_cfg.sup_weight = 1.0
    for term in raw.method_losses:
        term.loss_weight = 1.0
    data = weighted.data_preprocessor(batch(), True)
    w = _raw_losses(weighted, data, seed=5)
    r = _raw_losses(raw, data, seed=5)
    sup = r['sup_decode.loss_ce']
    s1, s2 = r['unsup_loss_strong_1'], r['unsup_loss_strong_2']
    fp = r['unsup_loss_fp']
    total, _ = weighted.parse_losses(w)
    expected = (sup + 0.25 * s1 + 0.25 * s2 + 0.5 * fp) / 2
    torch.testing.assert_close(total, expected)
    assert all(v > 0 for v in (sup, s1, s2, fp))
    assert not torch.equal(s1, s2)
    # the same weights with the EMA teacher: the fp term runs the student's
    # backbone itself, the weighting is unchanged
    ema = build(teacher='ema')
    ema.train()
    losses = _raw_losses(ema, data, seed=5)
    assert 'unsup_loss_fp' in losses and 'teacher.backbone.stem.0.weight' \
        in ema.state_dict()


def test_mask_ratio_is_the_weak_views_confident_share():
    model = build(views=1, fp=False)
    model.train()
    data = model.data_preprocessor(batch(), True)
    classifier = model.student.decode_head.decode_head.conv_seg
    with torch.no_grad():
        classifier.bias[1] += 100.  # every weak pixel confident
    losses = model.loss(data['inputs'], data['data_samples'])
    assert losses['unsup_mask_ratio'].item() == pytest.approx(1.0)
    assert 'unsup_loss_strong' in losses
