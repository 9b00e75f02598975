import torch

from mmseg_reco.models.utils import rename_loss_dict, reweight_loss_dict


def test_reweight_scales_losses_and_leaves_statistics():
    losses = dict(
        loss_ce=torch.tensor(2.0),
        loss_mask=torch.tensor(4.0),
        acc_seg=torch.tensor(90.0),
        confident_ratio=0.5)
    out = reweight_loss_dict(losses, 0.25)
    assert out['loss_ce'].item() == 0.5
    assert out['loss_mask'].item() == 1.0
    assert out['acc_seg'].item() == 90.0
    assert out['confident_ratio'] == 0.5
    assert losses['loss_ce'].item() == 2.0  # the input is not changed
    assert reweight_loss_dict(losses, 1) is losses


def test_rename_prefixes_every_key():
    out = rename_loss_dict('unsup_', dict(loss_reco=1.0, reco_num_queries=3))
    assert out == dict(unsup_loss_reco=1.0, unsup_reco_num_queries=3)
