import copy

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import PixelData

import mmseg_reco  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_reco.models.augmentation import project_target
from mmseg_reco.testing.tiny_models import tiny_segmentor

NUM_CLASSES = 4
SEGMENTOR = tiny_segmentor(NUM_CLASSES, 32)


def build(**kwargs):
    cfg = dict(
        type='SemiSegmentor',
        segmentor=copy.deepcopy(SEGMENTOR),
        strong_aug=dict(type='StrongAugment', mix='classmix'),
        method_losses=[
            dict(
                type='ReCoTerm',
                loss=dict(type='ReCoLoss', num_queries=8, num_negatives=16))
        ])
    cfg.update(kwargs)
    return MODELS.build(ConfigDict(cfg))


def batch(num_labelled=2, num_unlabelled=2, size=32):
    inputs, samples = [], []
    for i in range(num_labelled + num_unlabelled):
        inputs.append(torch.randint(0, 256, (3, size, size), dtype=torch.uint8))
        sample = SegDataSample()
        sample.set_metainfo(dict(img_shape=(size, size), ori_shape=(size,
                                                                    size)))
        if i < num_labelled:
            label = torch.randint(0, NUM_CLASSES, (1, size, size))
            sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_loss_keys_are_prefixed_and_teacher_gets_no_grad():
    torch.manual_seed(0)
    model = build()
    model.train()
    data = model.data_preprocessor(batch(), True)
    losses = model.loss(**data)
    assert {'sup_decode.loss_ce', 'unsup_loss_pseudo_ce', 'unsup_loss_reco',
            'unsup_confident_ratio', 'unsup_reco_num_queries'} <= set(losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.student.decode_head.rep_branch.parameters())


def test_pseudo_labels_carry_no_gradient():
    model = build()
    model.train()
    data = model.data_preprocessor(batch(), True)
    inputs = data['inputs'][2:].requires_grad_()
    pseudo, conf, _ = model.get_pseudo_labels(inputs, [])
    assert not pseudo.requires_grad and not conf.requires_grad
    assert pseudo.shape == conf.shape == (2, 32, 32)
    assert ((conf > 0) & (conf <= 1)).all()


def test_labelled_only_batch_is_supervised():
    model = build(strong_aug=None, method_losses=None)
    model.train()
    data = model.data_preprocessor(batch(num_labelled=3, num_unlabelled=0),
                                   True)
    losses = model.loss(**data)
    assert 'sup_decode.loss_ce' in losses
    assert not any(k.startswith('unsup_') for k in losses)


def test_predict_uses_configured_model():
    model = build(semi_test_cfg=dict(predict_on='student'))
    assert model.eval_model is model.student
    model = build()
    assert model.eval_model is model.teacher
    model.eval()
    data = model.data_preprocessor(batch(num_labelled=2, num_unlabelled=0))
    with torch.no_grad():
        preds = model.predict(**data)
    assert preds[0].pred_sem_seg.data.shape == (1, 32, 32)


def test_typo_in_semi_train_cfg_names_the_key():
    with pytest.raises(KeyError, match='unsup_wieght'):
        build(semi_train_cfg=dict(unsup_wieght=1.0))


def test_reco_term_refuses_head_with_its_own_reco_loss():
    segmentor = copy.deepcopy(SEGMENTOR)
    segmentor['decode_head']['loss_rep'] = dict(type='ReCoLoss')
    model = build(segmentor=segmentor)
    model.train()
    data = model.data_preprocessor(batch(), True)
    with pytest.raises(ValueError, match='loss_rep=None'):
        model.loss(**data)


def reco_step(sup_weight, relative_to_supervised=True):
    """Losses of one step from the same weights, batch and random draws."""
    torch.manual_seed(0)
    term = dict(
        type='ReCoTerm',
        relative_to_supervised=relative_to_supervised,
        loss=dict(type='ReCoLoss', num_queries=8, num_negatives=16))
    model = build(
        method_losses=[term], semi_train_cfg=dict(sup_weight=sup_weight))
    model.train()
    data = model.data_preprocessor(batch(), True)
    torch.manual_seed(1)
    return model.loss(**data)


def test_reco_term_follows_sup_weight_at_run_time():
    full, half = reco_step(1.0), reco_step(0.5)
    assert full['unsup_loss_reco'] > 0
    # ReCo's total weighs L_reco as the supervised loss: both halve
    torch.testing.assert_close(half['unsup_loss_reco'],
                               0.5 * full['unsup_loss_reco'])
    torch.testing.assert_close(half['sup_decode.loss_ce'],
                               0.5 * full['sup_decode.loss_ce'])
    # statistics and the pseudo-label loss are not weights' business
    assert half['unsup_reco_num_queries'] == full['unsup_reco_num_queries']
    torch.testing.assert_close(half['unsup_loss_pseudo_ce'],
                               full['unsup_loss_pseudo_ce'])
    fixed = reco_step(0.5, relative_to_supervised=False)
    torch.testing.assert_close(fixed['unsup_loss_reco'],
                               full['unsup_loss_reco'])


def test_plain_checkpoint_loads_into_student_and_teacher():
    model = build()
    plain = MODELS.build(ConfigDict(copy.deepcopy(SEGMENTOR)))
    with torch.no_grad():
        for p in plain.parameters():
            p.add_(1.0)
    model.load_state_dict(plain.state_dict(), strict=False)
    for name, value in plain.state_dict().items():
        assert torch.equal(model.student.state_dict()[name], value)
        assert torch.equal(model.teacher.state_dict()[name], value)


@MODELS.register_module(name='_TestMixMapTerm', force=True)
class MixMapTerm(torch.nn.Module):
    """A method term that gives ClassMix its own map (two column halves)
    and records the context it gets."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def mix_labels(self, weak):
        num, height, width = weak.labels.shape
        cols = torch.arange(width, device=weak.labels.device) >= width // 2
        return cols.long().expand(num, height, width)

    def forward(self, context):
        self.seen.append(context)
        return {}


def test_strong_view_records_its_transform_and_mixes_the_terms_map():
    classmix = dict(
        type='StrongAugment',
        mix='classmix',
        flip_prob=1.0,
        jitter_prob=0.0,
        blur_prob=0.0)
    model = build(
        strong_aug=classmix,
        pseudo_loss=None,
        method_losses=[dict(type='_TestMixMapTerm')])
    model.train()
    data = model.data_preprocessor(batch(), True)
    model.loss(**data)
    context = model.method_losses[0].seen[-1]
    batch_ = context.batch
    assert context.student is model.student
    assert context.teacher is model.teacher
    assert context.rampup == 1.0
    record = batch_.transform
    # of the map's two classes (column halves), ClassMix kept one
    keep = record.keep
    assert torch.equal(keep, keep[:, :1, :].expand_as(keep))
    halves = keep[:, 0, :16].all(1) ^ keep[:, 0, 16:].all(1)
    assert halves.all() and not (keep[:, 0, :16] ^ keep[:, 0, :1]).any()
    # the carried pseudo-labels are the weak ones mapped through the record
    assert torch.equal(batch_.labels[2:],
                       project_target(record, batch_.weak.labels, 255))
    assert torch.equal(batch_.confidence[2:],
                       project_target(record, batch_.weak.confidence, 0.))


def test_at_most_one_term_defines_mix_labels():
    with pytest.raises(ValueError, match='at most one method term'):
        build(
            pseudo_loss=None,
            method_losses=[
                dict(type='_TestMixMapTerm'),
                dict(type='_TestMixMapTerm')
            ])
