import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapperDict

import mmseg_reco.engine.optimizers  # noqa: F401
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS


class ToyGAN(BaseModel):

    def __init__(self):
        super().__init__()
        self.student = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
        self.teacher = nn.Conv2d(3, 4, 1)
        self.discriminator = nn.Linear(4, 1)

    def forward(self, *args, **kwargs):
        pass


CFG = dict(
    student=dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
        paramwise_cfg=dict(norm_decay_mult=0.0)),
    discriminator=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99))))


def build(cfg=CFG, **kwargs):
    return OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='MultiOptimWrapperConstructor',
            optim_wrapper_cfg=cfg,
            **kwargs))


def test_one_wrapper_per_named_submodule():
    model = ToyGAN()
    wrappers = build()(model)
    assert isinstance(wrappers, OptimWrapperDict)
    assert list(wrappers.keys()) == ['student', 'discriminator']
    sgd = wrappers['student'].optimizer
    adam = wrappers['discriminator'].optimizer
    assert isinstance(sgd, torch.optim.SGD)
    assert isinstance(adam, torch.optim.Adam)
    assert adam.defaults['betas'] == (0.9, 0.99)
    params = {id(p) for g in sgd.param_groups for p in g['params']}
    assert params == {id(p) for p in model.student.parameters()}
    params = {id(p) for g in adam.param_groups for p in g['params']}
    assert params == {id(p) for p in model.discriminator.parameters()}
    # the paramwise_cfg of one wrapper applies to its sub-module only
    norm_groups = [
        g for g in sgd.param_groups
        if g['params'][0] is model.student[1].weight
    ]
    assert norm_groups[0]['weight_decay'] == 0.0


def test_errors_name_the_problem():
    with pytest.raises(AttributeError, match='generator'):
        build(dict(generator=CFG['student']))(ToyGAN())
    with pytest.raises(ValueError, match='paramwise_cfg'):
        build(paramwise_cfg=dict(norm_decay_mult=0.0))
    with pytest.raises(ValueError, match='student'):
        build(dict(student='SGD'))
