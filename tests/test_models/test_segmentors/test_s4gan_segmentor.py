import copy
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.structures import PixelData

import mmseg_reco.engine.optimizers  # noqa: F401
import mmseg_reco.models.discriminators  # noqa: F401
import mmseg_reco.models.segmentors.s4gan_segmentor  # noqa: F401
from mmseg.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from mmseg.structures import SegDataSample
from mmseg_reco.models.segmentors.s4gan_segmentor import (
    discriminator_loss, feature_matching_loss, one_hot_labels,
    self_training_loss)
from mmseg_reco.testing.tiny_models import NORM, tiny_segmentor

NUM_CLASSES = 4
SIZE = 32
SEGMENTOR = tiny_segmentor(NUM_CLASSES, SIZE, representation=False)


def build(**kwargs):
    cfg = dict(
        type='S4GANSegmentor',
        segmentor=copy.deepcopy(SEGMENTOR),
        discriminator=dict(type='S4GANDiscriminator', base_channels=8))
    cfg.update(kwargs)
    model = MODELS.build(ConfigDict(cfg))
    model.train()
    return model


def batch(num_labelled=2, num_unlabelled=2):
    inputs, samples = [], []
    for i in range(num_labelled + num_unlabelled):
        inputs.append(torch.randint(0, 256, (3, SIZE, SIZE),
                                    dtype=torch.uint8))
        sample = SegDataSample()
        sample.set_metainfo(dict(img_shape=(SIZE, SIZE),
                                 ori_shape=(SIZE, SIZE)))
        if i < num_labelled:
            sample.gt_sem_seg = PixelData(
                data=torch.randint(0, NUM_CLASSES, (1, SIZE, SIZE)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def optim_wrappers(model):
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='MultiOptimWrapperConstructor',
            optim_wrapper_cfg=dict(
                student=dict(
                    type='OptimWrapper',
                    optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
                discriminator=dict(
                    type='OptimWrapper',
                    optimizer=dict(
                        type='Adam', lr=1e-4, betas=(0.9, 0.99))))))
    return constructor(model)


def set_discriminator_probability(model, prob):
    """Make the discriminator output ``prob`` for every input."""
    with torch.no_grad():
        model.discriminator.fc.weight.zero_()
        model.discriminator.fc.bias.fill_(math.log(prob / (1 - prob)))


# ----------------------------------------------------------------------
# pure functions
def test_self_training_filter_passes_only_images_above_threshold():
    torch.manual_seed(0)
    logits = torch.randn(4, NUM_CLASSES, 8, 8, requires_grad=True)
    labels = torch.randint(0, NUM_CLASSES, (4, 8, 8))
    labels[0, 0] = 255
    scores = torch.tensor([0.9, 0.3, 0.61, 0.6])
    loss, selected = self_training_loss(logits, labels, scores, 0.6, 255)
    # strictly above the threshold, as the authors' find_good_maps
    assert selected.tolist() == [True, False, True, False]
    expected = F.cross_entropy(
        logits[[0, 2]], labels[[0, 2]], ignore_index=255)
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert logits.grad[[1, 3]].abs().sum() == 0
    assert logits.grad[[0, 2]].abs().sum() > 0


def test_self_training_is_zero_with_a_graph_when_nothing_passes():
    logits = torch.randn(2, NUM_CLASSES, 4, 4, requires_grad=True)
    labels = torch.zeros(2, 4, 4, dtype=torch.long)
    loss, selected = self_training_loss(logits, labels,
                                        torch.tensor([0.1, 0.6]), 0.6, 255)
    assert not selected.any() and loss.item() == 0
    loss.backward()
    assert logits.grad.abs().sum() == 0


def test_one_hot_leaves_ignored_pixels_empty():
    labels = torch.tensor([[[0, 3], [255, 1]]])
    hot = one_hot_labels(labels, NUM_CLASSES, 255)
    assert hot.shape == (1, NUM_CLASSES, 2, 2) and hot.dtype == torch.float32
    assert hot[0, :, 1, 0].sum() == 0
    assert hot[0, 3, 0, 1] == 1 and hot[0, 1, 1, 1] == 1
    assert hot.sum() == 3


def test_feature_matching_and_discriminator_losses():
    real = torch.tensor([[1., 2.], [3., 4.]])
    fake = torch.tensor([[0., 0.], [1., 2.]])
    # batch means (2, 3) and (0.5, 1): L1 (1.5, 2) averaged over channels
    torch.testing.assert_close(
        feature_matching_loss(real, fake), torch.tensor(1.75))
    fake_logits, real_logits = torch.randn(3), torch.randn(5)
    losses = discriminator_loss(fake_logits, real_logits)
    expected = (F.binary_cross_entropy(fake_logits.sigmoid(), torch.zeros(3))
                + F.binary_cross_entropy(real_logits.sigmoid(),
                                         torch.ones(5))) / 2
    torch.testing.assert_close(losses['loss_fake'] + losses['loss_real'],
                               expected)
    torch.testing.assert_close(losses['score_real'],
                               real_logits.sigmoid().mean())


# ----------------------------------------------------------------------
# the segmentor
def test_defaults_and_discriminator_classes():
    model = build()
    cfg = model.semi_train_cfg
    assert (cfg.lambda_fm, cfg.lambda_st, cfg.threshold_st,
            cfg.pseudo_source) == (0.1, 1.0, 0.6, 'teacher')
    assert model.discriminator.num_classes == NUM_CLASSES
    assert model.discriminator.convs[0].in_channels == 3 + NUM_CLASSES


def test_configuration_errors():
    with pytest.raises(KeyError, match='lambda_fn'):
        build(semi_train_cfg=dict(lambda_fn=0.1))
    with pytest.raises(ValueError, match='pseudo_source'):
        build(semi_train_cfg=dict(pseudo_source='ema'))
    segmentor = copy.deepcopy(SEGMENTOR)
    segmentor['auxiliary_head'] = dict(
        type='FCNHead',
        in_channels=32,
        in_index=2,
        channels=8,
        num_convs=1,
        num_classes=NUM_CLASSES,
        norm_cfg=NORM)
    with pytest.raises(ValueError, match='auxiliary'):
        build(segmentor=segmentor)
    model = build()
    data = model.data_preprocessor(batch(num_unlabelled=0), True)
    with pytest.raises(ValueError, match='unlabelled'):
        model.loss_student(**data)


@pytest.mark.parametrize('pseudo_source', ['teacher', 'student'])
def test_filter_inside_the_segmentor(pseudo_source):
    torch.manual_seed(0)
    model = build(semi_train_cfg=dict(pseudo_source=pseudo_source))
    data = model.data_preprocessor(batch(), True)
    set_discriminator_probability(model, 0.7)
    losses, _ = model.loss_student(**data)
    assert losses['unsup_st_ratio'] == 1
    torch.testing.assert_close(losses['unsup_score'], torch.tensor(0.7))
    assert losses['unsup_loss_st'] > 0
    set_discriminator_probability(model, 0.55)
    losses, _ = model.loss_student(**data)
    assert losses['unsup_st_ratio'] == 0
    assert losses['unsup_loss_st'] == 0


def test_teacher_pseudo_labels_are_the_teacher_argmax():
    torch.manual_seed(0)
    model = build()
    with torch.no_grad():  # a teacher different from the student
        for p in model.teacher.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    data = model.data_preprocessor(batch(), True)
    unsup = data['inputs'][2:]
    student_logits = torch.randn(2, NUM_CLASSES, SIZE, SIZE)
    torch.manual_seed(1)  # the same dropout masks in the head
    pseudo, scores = model.get_s4gan_pseudo_labels(unsup, student_logits,
                                                   torch.zeros(2))
    torch.manual_seed(1)
    with torch.no_grad():
        teacher = F.interpolate(
            model.teacher._forward(unsup), size=(SIZE, SIZE),
            mode='bilinear')
    assert torch.equal(pseudo, teacher.argmax(dim=1))
    assert scores.shape == (2, ) and ((scores > 0) & (scores < 1)).all()
    model.semi_train_cfg.pseudo_source = 'student'
    pseudo, scores = model.get_s4gan_pseudo_labels(unsup, student_logits,
                                                   torch.zeros(2))
    assert torch.equal(pseudo, student_logits.argmax(dim=1))
    assert torch.equal(scores, torch.full((2, ), 0.5))


def test_student_losses_leave_no_gradient_in_the_discriminator():
    torch.manual_seed(0)
    model = build()
    set_discriminator_probability(model, 0.7)  # self-training active
    data = model.data_preprocessor(batch(), True)
    losses, (fake, real) = model.loss_student(**data)
    assert not fake.requires_grad
    losses['unsup_loss_fm'].backward(retain_graph=True)
    # feature matching reaches the student through the frozen discriminator
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.student.backbone.parameters())
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(p.grad is None for p in model.discriminator.parameters())
    assert all(p.grad is None for p in model.teacher.parameters())
    student_grads = [p.grad.clone() for p in model.student.parameters()]
    disc = model.loss_discriminator(fake, real)
    (disc['disc_loss_fake'] + disc['disc_loss_real']).backward()
    assert all(p.grad is not None for p in model.discriminator.parameters())
    for p, g in zip(model.student.parameters(), student_grads):
        assert torch.equal(p.grad, g)


def test_train_step_logs_keys_and_steps_both_optimisers():
    torch.manual_seed(0)
    model = build()
    wrappers = optim_wrappers(model)
    assert set(wrappers.keys()) == {'student', 'discriminator'}
    before = {
        name: [p.detach().clone() for p in getattr(model, name).parameters()]
        for name in ('student', 'teacher', 'discriminator')
    }
    log_vars = model.train_step(batch(), wrappers)
    assert {
        'loss', 'sup_decode.loss_ce', 'sup_decode.acc_seg', 'unsup_loss_fm',
        'unsup_loss_st', 'unsup_st_ratio', 'unsup_score', 'disc_loss',
        'disc_loss_fake', 'disc_loss_real', 'disc_score_fake',
        'disc_score_real'
    } == set(log_vars)
    torch.testing.assert_close(
        log_vars['disc_loss'],
        log_vars['disc_loss_fake'] + log_vars['disc_loss_real'])

    def changed(name):
        return any(not torch.equal(p, q) for p, q in zip(
            getattr(model, name).parameters(), before[name]))

    assert changed('student') and changed('discriminator')
    assert not changed('teacher')  # the EMA hook updates it, not the step
    adam = wrappers['discriminator'].optimizer
    assert all(adam.state[p]['step'] == 1
               for p in model.discriminator.parameters())
    sgd = wrappers['student'].optimizer
    assert all('momentum_buffer' in sgd.state[p]
               for p in model.student.parameters())
    # gradients are cleared after each update
    assert all(p.grad is None or p.grad.abs().sum() == 0
               for p in model.parameters())


def test_loss_holds_every_term_and_predict_uses_the_teacher():
    model = build()
    data = model.data_preprocessor(batch(), True)
    losses = model(**data, mode='loss')
    assert {'sup_decode.loss_ce', 'unsup_loss_fm', 'unsup_loss_st',
            'disc_loss_fake', 'disc_loss_real'} <= set(losses)
    model.eval()
    assert model.eval_model is model.teacher
    data = model.data_preprocessor(batch(num_unlabelled=0))
    with torch.no_grad():
        preds = model.predict(**data)
    assert preds[0].pred_sem_seg.data.shape == (1, SIZE, SIZE)


def test_losses_are_float32_under_autocast():
    torch.manual_seed(0)
    model = build()
    set_discriminator_probability(model, 0.7)
    data = model.data_preprocessor(batch(), True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses, (fake, real) = model.loss_student(**data)
        losses.update(model.loss_discriminator(fake, real))
    for key in ('unsup_loss_fm', 'unsup_loss_st', 'disc_loss_fake',
                'disc_loss_real'):
        assert losses[key].dtype == torch.float32, key
        assert torch.isfinite(losses[key]), key
    sum(v for k, v in losses.items() if 'loss' in k).backward()


def test_augmentations_reach_real_and_fake_images():
    torch.manual_seed(0)
    aug = dict(
        type='StrongAugment',
        mix=None,
        flip_prob=0.0,
        jitter_prob=1.0,
        blur_prob=0.0)
    model = build(sup_aug=aug, unsup_aug=aug)
    data = model.data_preprocessor(batch(), True)
    images = data['inputs'] * model.data_preprocessor.std + \
        model.data_preprocessor.mean
    _, (fake, real) = model.loss_student(**data)
    assert fake.shape == (2, 3 + NUM_CLASSES, SIZE, SIZE)
    assert ((fake[:, :3] > -1e-4) & (fake[:, :3] < 1 + 1e-4)).all()
    assert not torch.allclose(fake[:, :3], images[2:] / 255, atol=1e-3)
    assert not torch.allclose(real[:, :3], images[:2] / 255, atol=1e-3)
    # without augmentation the discriminator sees the inputs in [0, 1]
    model = build()
    _, (fake, real) = model.loss_student(**data)
    torch.testing.assert_close(fake[:, :3], images[2:] / 255)
    torch.testing.assert_close(real[:, :3], images[:2] / 255)
    assert torch.equal(real[:, 3:].sum(1), torch.ones(2, SIZE, SIZE))
