import copy

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import PixelData

import mmseg_reco  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
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


@MODELS.register_module(name='_TestCarriedMapTerm', force=True)
class CarriedMapTerm(torch.nn.Module):
    """A method term that carries its own map (column index, row share)
    through the strong view and records the batch it gets."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def strong_view_targets(self, model, teacher_outputs, pseudo, conf):
        num, height, width = pseudo.shape
        cols = torch.arange(width, device=pseudo.device).expand(
            num, height, width)
        rows = torch.arange(height, device=pseudo.device).float() / height
        return cols, rows.view(1, -1, 1).expand(num, height, width)

    def forward(self, model, outputs, batch):
        self.seen.append(batch)
        return {}


def test_strong_view_carries_the_method_terms_map():
    flip = dict(
        type='StrongAugment', mix=None, flip_prob=1.0, jitter_prob=0.0,
        blur_prob=0.0)
    model = build(
        strong_aug=flip,
        pseudo_loss=None,
        method_losses=[dict(type='_TestCarriedMapTerm')])
    model.train()
    assert model.target_term is model.method_losses[0]
    # the term is registered once in the state dict
    assert not any(k.startswith('target_term') for k in model.state_dict())
    data = model.data_preprocessor(batch(), True)
    model.loss(**data)
    seen = model.method_losses[0].seen[-1]
    assert seen.method_targets
    cols = torch.arange(32).flip(0).expand(2, 32, 32)
    assert torch.equal(seen.labels[2:], cols)
    rows = (torch.arange(32).float() / 32).view(1, -1, 1).expand(2, 32, 32)
    assert torch.equal(seen.confidence[2:], rows)
    # without such a term the strong view carries the pseudo-labels
    plain = build(strong_aug=flip)
    plain.train()
    assert plain.target_term is None


def test_at_most_one_term_defines_strong_view_targets():
    with pytest.raises(ValueError, match='at most one method term'):
        build(
            pseudo_loss=None,
            method_losses=[
                dict(type='_TestCarriedMapTerm'),
                dict(type='_TestCarriedMapTerm')
            ])
    with pytest.raises(ValueError, match='pseudo_loss=None'):
        build(method_losses=[dict(type='_TestCarriedMapTerm')])
