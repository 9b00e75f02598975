import torch

from mmseg.registry import MODELS
from mmseg_reco.models.losses import cmb_contrastive_loss


def test_cmb_contrastive_loss_module_weights_the_function():
    torch.manual_seed(0)
    pred = torch.randn(12, 8, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, -1, 255])
    scores = torch.rand(12)
    bank = torch.randn(3, 5, 8)
    valid = torch.rand(3, 5) > 0.3
    bank_scores = torch.rand(3, 5)
    module = MODELS.build(dict(type='CMBContrastiveLoss', loss_weight=0.5))
    value = module(pred, labels, scores, bank, valid, bank_scores)
    expected = cmb_contrastive_loss(pred, labels, scores, bank, valid,
                                    bank_scores)['loss']
    assert module.loss_name == 'loss_contr'
    assert expected > 0.1
    assert torch.allclose(value, 0.5 * expected)
    value.backward()
    assert pred.grad.abs().sum() > 0
