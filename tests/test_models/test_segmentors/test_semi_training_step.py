"""The mean teacher's training step against the authors' step: teacher
without dropout, separate student passes, pseudo-label CE, ramp-up."""
import copy
import math

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.logging import MessageHub
from mmengine.structures import PixelData

import mmseg_reco  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_reco.engine.hooks.teacher_mode import set_teacher_mode
from mmseg_reco.models.losses.pseudo_label_loss import PseudoLabelCELoss
from mmseg_reco.testing.tiny_models import tiny_segmentor

NUM_CLASSES = 4
SIZE = 32


def build(segmentor=None, **kwargs):
    cfg = dict(
        type='SemiSegmentor',
        segmentor=segmentor or tiny_segmentor(NUM_CLASSES, SIZE),
        strong_aug=dict(type='StrongAugment', mix='classmix'))
    cfg.update(kwargs)
    return MODELS.build(ConfigDict(cfg))


def batch(num_labelled=2, num_unlabelled=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(num_labelled + num_unlabelled):
        inputs.append(
            torch.randint(0, 256, (3, SIZE, SIZE), dtype=torch.uint8,
                          generator=gen))
        sample = SegDataSample()
        sample.set_metainfo(dict(img_shape=(SIZE, SIZE),
                                 ori_shape=(SIZE, SIZE)))
        if i < num_labelled:
            sample.gt_sem_seg = PixelData(data=torch.randint(
                0, NUM_CLASSES, (1, SIZE, SIZE), generator=gen))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_teacher_pseudo_labels_repeat_without_dropout_with_batch_stats():
    model = build()
    # the DeepLabV3+ head has Dropout2d(0.1) before its classifier
    assert model.teacher.decode_head.decode_head.dropout.p == 0.1
    model.train()
    set_teacher_mode(model.teacher, norm_train=True, dropout=False)
    data = model.data_preprocessor(batch(), True)
    inputs = data['inputs'][2:]
    torch.manual_seed(1)
    first = model.get_pseudo_labels(inputs, [])
    torch.manual_seed(2)
    second = model.get_pseudo_labels(inputs, [])
    assert torch.equal(first[0], second[0])
    assert torch.equal(first[1], second[1])
    bns = [m for m in model.teacher.modules()
           if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(m.training for m in bns)
    # batch statistics: with another companion image, the first image is
    # normalised differently
    other = torch.cat([inputs[:1], inputs[1:].flip(-1) * 0.5])
    assert not torch.allclose(
        model.get_pseudo_labels(other, [])[1][0], first[1][0])
    # with dropout on (teacher_dropout=True) the two calls differ
    set_teacher_mode(model.teacher, norm_train=True, dropout=True)
    torch.manual_seed(1)
    noisy_a = model.get_pseudo_labels(inputs, [])[1]
    torch.manual_seed(2)
    noisy_b = model.get_pseudo_labels(inputs, [])[1]
    assert not torch.allclose(noisy_a, noisy_b)


def test_eval_teacher_mode_switches_batch_norm_to_running_stats():
    model = build()
    set_teacher_mode(model.teacher, norm_train=False)
    assert not any(m.training for m in model.teacher.modules())


def _gn(segmentor):
    """The same segmentor with GroupNorm: nothing depends on the batch."""
    segmentor = copy.deepcopy(segmentor)

    def swap(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == 'norm_cfg':
                    node[key] = dict(type='GN', num_groups=2,
                                     requires_grad=True)
                else:
                    swap(value)
    swap(segmentor)
    return segmentor


def _losses(student_forward, segmentor, seed=0):
    torch.manual_seed(0)
    model = build(
        segmentor=segmentor,
        semi_train_cfg=dict(student_forward=student_forward),
        method_losses=[
            dict(type='ReCoTerm',
                 loss=dict(type='ReCoLoss', num_queries=8, num_negatives=16))
        ])
    model.train()
    set_teacher_mode(model.teacher, norm_train=True)
    for m in model.student.modules():  # compare without dropout noise
        if isinstance(m, torch.nn.Dropout2d):
            m.eval()
    data = model.data_preprocessor(batch(seed=seed), True)
    torch.manual_seed(seed)
    return model.loss(**data)


def test_separate_and_joint_forward_agree_without_batch_norm():
    segmentor = _gn(tiny_segmentor(NUM_CLASSES, SIZE))
    separate = _losses('separate', segmentor)
    joint = _losses('joint', segmentor)
    assert set(separate) == set(joint)
    for key in separate:
        torch.testing.assert_close(
            separate[key], joint[key], rtol=1e-4, atol=1e-5, msg=key)


def test_separate_forward_normalises_each_batch_on_its_own():
    segmentor = tiny_segmentor(NUM_CLASSES, SIZE)
    separate = _losses('separate', segmentor)
    joint = _losses('joint', segmentor)
    assert not torch.allclose(separate['sup_decode.loss_ce'],
                              joint['sup_decode.loss_ce'])


def test_unknown_student_forward_is_refused():
    with pytest.raises(ValueError, match='student_forward'):
        build(semi_train_cfg=dict(student_forward='twice'))


def test_pseudo_label_ce_matches_hand_computed_value():
    # 2 images, 2 classes, 1x3 pixels
    logits = torch.tensor([[[[2.0, 0.0, 1.0]], [[0.0, 0.0, 1.0]]],
                           [[[0.0, 3.0, 0.0]], [[1.0, 0.0, 0.0]]]])
    labels = torch.tensor([[[0, 1, 255]], [[1, 1, 0]]])
    conf = torch.tensor([[[0.99, 0.5, 0.99]], [[0.98, 0.97, 0.2]]])
    out = PseudoLabelCELoss(threshold=0.97)(logits, labels, conf)
    # eta: image 0: 1 confident of 2 valid; image 1: 2 of 3
    eta = torch.tensor([0.5, 2 / 3])
    ce = lambda z, y: -torch.log_softmax(z, 0)[y]  # noqa: E731
    pix = [(0, ce(torch.tensor([2.0, 0.0]), 0)),
           (0, ce(torch.tensor([0.0, 0.0]), 1)),
           (1, ce(torch.tensor([0.0, 1.0]), 1)),
           (1, ce(torch.tensor([3.0, 0.0]), 1)),
           (1, ce(torch.tensor([0.0, 0.0]), 0))]
    expected = sum(eta[i] * v for i, v in pix) / len(pix)
    torch.testing.assert_close(out['loss_pseudo_ce'], expected)
    torch.testing.assert_close(out['confident_ratio'], eta.mean())


def test_pseudo_label_ce_averages_over_pixels_with_positive_loss():
    logits = torch.tensor([[[[50.0, 0.0]], [[-50.0, 0.0]]]])
    labels = torch.tensor([[[0, 1]]])  # first pixel: loss exactly 0
    conf = torch.ones(1, 1, 2)
    out = PseudoLabelCELoss()(logits, labels, conf)
    torch.testing.assert_close(out['loss_pseudo_ce'], torch.log(
        torch.tensor(2.0)))


@pytest.mark.parametrize('it, expected', [(0, math.exp(-5.0)),
                                          (50, math.exp(-5.0 * 0.25)),
                                          (100, 1.0), (150, 1.0)])
def test_rampup_weight_at_start_half_and_end(it, expected):
    model = build(semi_train_cfg=dict(rampup_iters=100))
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', it)
    try:
        assert model.rampup() == pytest.approx(expected)
    finally:
        hub.update_info('iter', 0)


def test_no_rampup_weight_is_one():
    model = build()
    assert model.rampup() == 1.0


def test_predict_both_stores_teacher_and_student_predictions():
    model = build(semi_test_cfg=dict(predict_both=True))
    with torch.no_grad():  # make the two models differ
        for p in model.student.parameters():
            p.add_(0.5 * torch.randn_like(p))
    model.eval()
    data = model.data_preprocessor(batch(num_labelled=2, num_unlabelled=0))
    with torch.no_grad():
        preds = model.predict(**data)
        student = model.student.predict(**model.data_preprocessor(
            batch(num_labelled=2, num_unlabelled=0)))
    for pred, ref in zip(preds, student):
        assert torch.equal(pred.pred_sem_seg.data,
                           pred.teacher_pred_sem_seg.data)
        assert torch.equal(pred.student_pred_sem_seg.data,
                           ref.pred_sem_seg.data)
