"""configs/reco/architectures/: mmseg's model families trained with ReCo.

Each config inherits mmseg's own model config (``mmseg::``); a tiny variant
of it (few channels, no pre-trained weights, BN instead of SyncBN) runs two
semi-supervised training steps and one prediction on 64x64 images.
"""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.structures import PixelData

from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_reco.utils.dist import revert_sync_norm_cfg

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', 'reco', 'architectures', '*.py')))
NUM_CLASSES = 21
SIZE = 64

RESNET18 = {
    'backbone.depth': 18,
    'decode_head.decode_head.in_channels': 512,
    'decode_head.decode_head.channels': 16,
    'auxiliary_head.in_channels': 256,
    'auxiliary_head.channels': 8,
}
# the tiny variant of each family; the RepresentationHead keeps its tap
TINY = {
    'deeplabv3plus-r50-d8': dict(
        RESNET18, **{
            'decode_head.decode_head.c1_in_channels': 64,
            'decode_head.decode_head.c1_channels': 8,
            'decode_head.decode_head.dilations': (1, 2, 3, 4),
        }),
    'pspnet-r50-d8': RESNET18,
    'fcn-r50-d8': RESNET18,
    'upernet-swin-t': {
        'backbone.embed_dims': 16,
        'backbone.depths': [1, 1, 1, 1],
        'backbone.num_heads': [1, 1, 2, 2],
        'backbone.window_size': 4,
        'backbone.pretrain_img_size': SIZE,
        'backbone.drop_path_rate': 0.0,
        'decode_head.decode_head.in_channels': [16, 32, 64, 128],
        'decode_head.decode_head.channels': 16,
        'auxiliary_head.in_channels': 64,
        'auxiliary_head.channels': 8,
    },
    'segformer-mit-b0': {
        'backbone.embed_dims': 8,
        'backbone.num_layers': [1, 1, 1, 1],
        'backbone.drop_path_rate': 0.0,
        'decode_head.decode_head.in_channels': [8, 16, 40, 64],
        'decode_head.decode_head.channels': 16,
    },
}
# the tapped feature of each family (documented in each config)
TAPS = {
    'deeplabv3plus-r50-d8': 'sep_bottleneck',
    'pspnet-r50-d8': 'cls_seg',
    'fcn-r50-d8': 'cls_seg',
    'upernet-swin-t': 'cls_seg',
    'segformer-mit-b0': 'cls_seg',
}

def family(path):
    return osp.basename(path).split('_')[1]


def tiny_model_cfg(path):
    cfg = Config.fromfile(path)
    model = copy.deepcopy(cfg.model)
    segmentor = model.segmentor
    segmentor.pretrained = None
    segmentor.backbone.init_cfg = None
    for key, value in TINY[family(path)].items():
        *parents, leaf = key.split('.')
        node = segmentor
        for parent in parents:
            node = node[parent]
        node[leaf] = value
    revert_sync_norm_cfg(model)
    return model


def semi_batch(num_labelled=2, num_unlabelled=2):
    inputs, samples = [], []
    for i in range(num_labelled + num_unlabelled):
        inputs.append(
            torch.randint(0, 256, (3, SIZE, SIZE), dtype=torch.uint8))
        sample = SegDataSample(metainfo=dict(img_shape=(SIZE, SIZE),
                                             ori_shape=(SIZE, SIZE)))
        if i < num_labelled:
            label = torch.randint(0, NUM_CLASSES, (1, SIZE, SIZE))
            label[:, :4] = 255
            sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_five_families():
    assert sorted(family(p) for p in CONFIGS) == sorted(TINY)


@pytest.mark.parametrize('path', CONFIGS, ids=family)
def test_config_wraps_the_mmseg_model(path):
    cfg = Config.fromfile(path)
    segmentor = cfg.model.segmentor
    assert cfg.model.type == 'SemiSegmentor'
    head = segmentor.decode_head
    assert head.type == 'RepresentationHead'
    assert head.tap == TAPS[family(path)]
    assert head.loss_rep is None
    assert head.decode_head.num_classes == NUM_CLASSES
    if 'auxiliary_head' in segmentor:
        assert segmentor.auxiliary_head.num_classes == NUM_CLASSES
    assert [t.type for t in cfg.model.method_losses] == ['ReCoTerm']
    assert cfg.model.strong_aug.mix == 'classmix'
    assert cfg.train_dataloader.sampler.num_labelled == 10


@pytest.mark.parametrize('path', CONFIGS, ids=family)
def test_tiny_variant_trains_two_steps_and_predicts(path):
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg(path))
    model.train()
    student = {k: v.detach().clone() for k, v in
               model.student.named_parameters()}
    optim = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.01))
    for _ in range(2):
        log_vars = model.train_step(semi_batch(), optim)
        assert 'sup_decode.loss_ce' in log_vars
        assert any(k.startswith('unsup_') for k in log_vars)
        assert torch.isfinite(torch.as_tensor(log_vars['loss']))
    changed = [k for k, v in model.student.named_parameters()
               if not torch.equal(v, student[k])]
    assert any(k.startswith('backbone.') for k in changed)
    assert any(k.startswith('decode_head.decode_head.') for k in changed)
    assert any(k.startswith('decode_head.rep_branch.') for k in changed)

    model.eval()
    data = model.data_preprocessor(semi_batch(0, 1), False)
    with torch.no_grad():
        sample = model.predict(**data)[0]
    assert sample.seg_logits.data.shape == (NUM_CLASSES, SIZE, SIZE)
    pred = sample.pred_sem_seg.data
    assert pred.shape == (1, SIZE, SIZE)
    assert 0 <= int(pred.min()) and int(pred.max()) < NUM_CLASSES
    assert torch.equal(pred[0], sample.seg_logits.data.argmax(0))
