"""Checkpoints of another method, model or class list give a clear error;
matching ones load under torch's ``weights_only=True`` default."""
import pytest
import torch
from mmengine.runner import Runner

from mmseg_reco.datasets import FashionCanvasDataset
from mmseg_reco.engine.hooks.checkpoint_compatibility_hook import \
    IncompatibleCheckpointError
from reliability_utils import requires_demo, run, small_cfg

pytestmark = requires_demo


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """One-iteration checkpoints of supervised ReCo and of the memory-bank
    method."""
    paths = {}
    for name in ('reco-sup', 'cmb'):
        work = tmp_path_factory.mktemp(name)
        run(small_cfg(name, work, iters=1, checkpoint_interval=1))
        paths[name] = str(work / 'iter_1.pth')
    return paths


def test_checkpoints_load_with_weights_only(checkpoints):
    for path in checkpoints.values():
        ckpt = torch.load(path, weights_only=True)
        assert ckpt['meta']['iter'] == 1
    sig = torch.load(checkpoints['cmb'])['meta']['model_signature']
    assert sig == dict(
        type='SemiSegmentor',
        decode_head='CMBHead',
        method_losses=['CMBTerm'],
        num_classes=11)
    # the memory bank and its pointers are in the state dict
    state = torch.load(checkpoints['cmb'])['state_dict']
    assert any(k.endswith('bank.ptr') for k in state)


def test_resume_from_another_method_is_refused(checkpoints, tmp_path):
    cfg = small_cfg('cmb', tmp_path, iters=2)
    cfg.load_from = checkpoints['reco-sup']
    cfg.resume = True
    runner = Runner.from_cfg(cfg)
    with pytest.raises(IncompatibleCheckpointError) as info:
        runner.train()
    message = str(info.value)
    assert 'cannot resume from this checkpoint' in message
    assert 'saved by EncoderDecoder (RepresentationHead' in message
    assert 'SemiSegmentor (CMBHead, CMBTerm, 11 classes)' in message
    assert 'student.decode_head' in message  # missing keys named


def test_other_class_count_is_refused_with_the_tensor_named(
        checkpoints, tmp_path):
    cfg = small_cfg('reco-sup', tmp_path, iters=1)
    cfg.model.decode_head.decode_head.num_classes = 5
    cfg.load_from = checkpoints['reco-sup']
    runner = Runner.from_cfg(cfg)
    with pytest.raises(IncompatibleCheckpointError) as info:
        runner.train()
    message = str(info.value)
    assert ('11 classes), this model is EncoderDecoder (RepresentationHead, '
            'no method loss, 5 classes)') in message
    assert 'decode_head.conv_seg.weight: checkpoint [11, ' in message
    assert 'vs model [5, ' in message


def test_other_class_names_are_refused(checkpoints, tmp_path):
    cfg = small_cfg('reco-sup', tmp_path, iters=1)
    # the same 11 classes in another order (mmseg remaps the label ids)
    classes = list(FashionCanvasDataset.METAINFO['classes'])
    classes[3], classes[4] = classes[4], classes[3]
    cfg.train_dataloader.dataset.metainfo = dict(classes=classes)
    cfg.load_from = checkpoints['reco-sup']
    with pytest.raises(IncompatibleCheckpointError,
                       match=r"3: 'Pullover' vs 'Dress', 4: 'Dress' vs "):
        Runner.from_cfg(cfg).train()


def test_ignore_keys_allows_fine_tuning_on_other_classes(
        checkpoints, tmp_path):
    cfg = small_cfg('reco-sup', tmp_path, iters=1)
    cfg.model.decode_head.decode_head.num_classes = 5
    cfg.default_hooks.checkpoint_check.ignore_keys = ['conv_seg']
    runner = Runner.from_cfg(cfg)
    runner.load_checkpoint(checkpoints['reco-sup'])
    saved = torch.load(checkpoints['reco-sup'])['state_dict']
    model = runner.model.state_dict()
    assert torch.equal(model['backbone.stem.0.weight'],
                       saved['backbone.stem.0.weight'])
    assert model['decode_head.decode_head.conv_seg.weight'].shape[0] == 5


def test_plain_checkpoint_initialises_a_mean_teacher(checkpoints, tmp_path):
    cfg = small_cfg('reco-classmix', tmp_path, iters=1)
    cfg.load_from = checkpoints['reco-sup']
    runner = run(cfg).runner
    assert runner.iter == 1


def test_evaluating_with_a_checkpoint_of_another_method_is_refused(
        checkpoints, tmp_path):
    runner = Runner.from_cfg(small_cfg('reco-classmix', tmp_path, iters=1))
    with pytest.raises(IncompatibleCheckpointError) as info:
        runner.load_checkpoint(checkpoints['cmb'])
    message = str(info.value)
    assert 'cannot load this checkpoint' in message
    assert 'have another shape (student.decode_head.' in message
    # the saved model is named as context
    assert 'saved by SemiSegmentor (CMBHead, CMBTerm' in message
