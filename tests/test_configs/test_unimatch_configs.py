"""configs/unimatch/: FixMatch, UniMatch and ReCo on top of either. The
demo configs train two real steps on the demo data; UniMatch's
feature-perturbation stream runs on the five architectures of
configs/reco/architectures through the one FeatureDropout interface."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner

from mmseg.registry import MODELS
from mmseg_reco.models.utils import head_logits
from repo_scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = osp.join(REPO, 'data/fashion_canvas/splits/labelled-60.txt')
DEMOS = sorted(
    glob.glob(osp.join(REPO, 'configs', 'unimatch', '*1k_fashion-canvas*.py')))
#: the label-efficiency benchmark's (docs/benchmarks.md)
BENCHMARK = sorted(
    glob.glob(osp.join(REPO, 'configs', 'unimatch', '*2k_fashion-canvas*.py')))
ARCHITECTURES = load_script('tests/test_configs/test_architecture_configs.py',
                            'unimatch_test_architecture_configs')


def method(path):
    return osp.basename(path).split('_')[0]


def test_four_demo_configs():
    assert sorted(method(p) for p in DEMOS) == [
        'fixmatch', 'reco-fixmatch', 'reco-unimatch', 'unimatch'
    ]


@pytest.mark.parametrize('path', BENCHMARK, ids=method)
def test_benchmark_config_keeps_the_demo_method(path, config_loader):
    """The benchmark's configs change the model, batch and schedule only:
    the method's settings are the demo config's."""
    name = method(path)
    demo = [p for p in DEMOS if method(p) == name]
    assert len(demo) == 1, name
    cfg, ref = config_loader(path), config_loader(demo[0])
    for key in ('type', 'teacher', 'semi_train_cfg', 'semi_test_cfg',
                'pseudo_loss', 'method_losses', 'sup_aug'):
        assert cfg.model.get(key) == ref.model.get(key), (name, key)
    assert cfg.model.strong_aug.type == ref.model.strong_aug.type
    assert cfg.model.strong_aug.mix == ref.model.strong_aug.mix
    assert cfg.model.segmentor.backbone.base_channels == 32
    assert cfg.train_dataloader.sampler.num_labelled == 8


@pytest.mark.parametrize('path', DEMOS, ids=method)
def test_demo_config_is_the_authors_method(path, config_loader):
    cfg = config_loader(path)
    model = cfg.model
    name = method(path)
    views = 2 if 'unimatch' in name else 1
    assert model.teacher == 'self' and model.pseudo_loss is None
    assert model.strong_aug.mix == 'cutmix'
    assert model.semi_train_cfg.sup_weight == 0.5
    assert model.semi_train_cfg.strong_views == views
    assert not any(h.type == 'MeanTeacherHook'
                   for h in cfg.get('custom_hooks', []))
    weights = {t.type: t.get('loss_weight') for t in model.method_losses}
    # (sup + unsup) / 2 and (sup + 0.25 s1 + 0.25 s2 + 0.5 fp) / 2
    expected = {'WeakToStrongTerm': 0.5 if views == 1 else 0.125}
    if views == 2:
        expected['FeaturePerturbationTerm'] = 0.25
    if name.startswith('reco-'):
        expected['ReCoTerm'] = None
        assert model.segmentor.decode_head.type == 'RepresentationHead'
        assert model.segmentor.decode_head.loss_rep is None
        # ReCo's total weighs L_reco as the supervised loss: the term is
        # multiplied by sup_weight at run time, at its own weight 1
        reco = [t for t in model.method_losses if t.type == 'ReCoTerm']
        assert reco[0].relative_to_supervised is True
        assert reco[0].loss.get('loss_weight', 1.0) == 1.0
    assert weights == expected
    for term in model.method_losses:
        if term.type != 'ReCoTerm':
            assert term.threshold == 0.95


def small_cfg(path, work_dir, iters=2):
    cfg = Config.fromfile(path)
    cfg.work_dir = str(work_dir)
    cfg.data_root = osp.join(REPO, 'data/fashion_canvas')
    loader = cfg.train_dataloader
    loader.num_workers = 0
    loader.persistent_workers = False
    for sub in loader.dataset.datasets:
        sub.data_root = cfg.data_root
    loader.batch_size = loader.sampler.batch_size = 4
    loader.sampler.num_labelled = 2
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters + 1
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1)
    cfg.default_hooks.logger.interval = 1
    cfg.log_level = 'WARNING'
    return cfg


@pytest.mark.needs_data(DATA, reason='demo data missing: run '
                        'tools/setup_env.sh')
@pytest.mark.parametrize('path', DEMOS, ids=method)
def test_demo_config_trains_two_steps(path, tmp_path):
    runner = Runner.from_cfg(small_cfg(path, tmp_path))
    student = {k: v.detach().clone()
               for k, v in runner.model.student.named_parameters()}
    runner.train()
    logs = runner.message_hub.log_scalars
    keys = {k[len('train/'):] for k in logs if k.startswith('train/')}
    views = 2 if 'unimatch' in method(path) else 1
    strong = (['unsup_loss_strong'] if views == 1 else
              ['unsup_loss_strong_1', 'unsup_loss_strong_2'])
    expected = {'sup_decode.loss_ce', 'unsup_mask_ratio', *strong}
    if views == 2:
        expected.add('unsup_loss_fp')
    if method(path).startswith('reco-'):
        expected.add('unsup_loss_reco')
    assert expected <= keys
    for key in keys:
        assert torch.isfinite(torch.tensor(logs['train/' + key].current()))
    assert 0 <= logs['train/unsup_mask_ratio'].current() <= 1
    changed = [k for k, v in runner.model.student.named_parameters()
               if not torch.equal(v, student[k])]
    assert any(k.startswith('backbone.') for k in changed)
    assert not any(k.startswith('teacher.')
                   for k in runner.model.state_dict())


def unimatch_on(path):
    """The tiny architecture of ``path`` trained by ReCo + UniMatch."""
    model = ARCHITECTURES.tiny_model_cfg(path)
    unimatch = Config.fromfile(
        osp.join(REPO, 'configs/_base_/methods/reco_unimatch.py'))
    semi = unimatch.semi_model.to_dict()
    semi['strong_aug'] = dict(semi['strong_aug'])
    model.update(
        teacher='self',
        strong_aug=semi['strong_aug'],
        sup_aug=None,
        pseudo_loss=None,
        method_losses=semi['method_losses'],
        semi_train_cfg=semi['semi_train_cfg'],
        semi_test_cfg=semi['semi_test_cfg'])
    return MODELS.build(model)


@pytest.mark.parametrize(
    'path', ARCHITECTURES.CONFIGS, ids=ARCHITECTURES.family)
def test_feature_perturbation_on_every_architecture(path):
    torch.manual_seed(0)
    model = unimatch_on(path)
    model.train()
    term = model.method_losses[1]
    assert type(term).__name__ == 'FeaturePerturbationTerm'
    data = model.data_preprocessor(ARCHITECTURES.semi_batch(0, 2), True)
    feats = model.student.extract_feat(data['inputs'])
    head = model.student.decode_head
    with torch.no_grad():
        model.eval()
        clean = head_logits(head.forward(feats))
        assert torch.equal(head_logits(head.forward(term.perturbation(feats))),
                           clean)
        model.train()
        torch.manual_seed(1)
        perturbed = head_logits(head.forward(term.perturbation(feats)))
        assert perturbed.shape == clean.shape
        torch.manual_seed(1)
        clean_train = head_logits(head.forward(feats))
        assert not torch.allclose(perturbed, clean_train)
    optim = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.01))
    log_vars = model.train_step(ARCHITECTURES.semi_batch(), optim)
    for key in ('unsup_loss_fp', 'unsup_loss_strong_1',
                'unsup_loss_strong_2', 'unsup_loss_reco'):
        assert torch.isfinite(torch.as_tensor(log_vars[key])), key
