"""Every leaf config is named by the rule, and its name tells its schedule
and batch."""
import glob
import os.path as osp

import pytest

from mmseg_reco.utils.config_names import parse_config_name, schedule_iters

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LEAVES = sorted(
    p for p in glob.glob(
        osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p.split(osp.sep))


def test_rule_parses_and_rejects():
    fields = parse_config_name(
        'cmb_deeplabv2-r101-d8_1xb5-80k_gta5-cityscapes-1of30.py')
    assert fields == dict(method='cmb', model='deeplabv2-r101-d8', gpus='1',
                          batch='5', schedule='80k',
                          dataset='gta5-cityscapes', split='1of30')
    assert parse_config_name('reco_r101_40k_voc12aug-60.py') is None
    assert parse_config_name(
        'classmix_deeplabv3plus-r18-d8_1xb4-1k_voc12aug-60.py') is None


@pytest.mark.parametrize('path', LEAVES,
                         ids=[osp.basename(p) for p in LEAVES])
def test_leaf_name_matches_its_schedule_and_batch(path, config_loader):
    fields = parse_config_name(osp.basename(path))
    assert fields is not None, f'{osp.basename(path)} breaks the rule'
    cfg = config_loader(path)
    assert cfg.train_cfg.max_iters == schedule_iters(fields['schedule'])
    loader = cfg.train_dataloader
    labelled = loader.get('sampler', {}).get('num_labelled',
                                             loader.batch_size)
    assert labelled == int(fields['batch'])


@pytest.mark.parametrize('path', LEAVES,
                         ids=[osp.basename(p) for p in LEAVES])
def test_leaf_states_the_global_batch_it_was_tuned_for(path, config_loader):
    fields = parse_config_name(osp.basename(path))
    cfg = config_loader(path)
    assert cfg.auto_scale_lr.enable is False
    assert cfg.auto_scale_lr.base_batch_size == (
        int(fields['gpus']) * cfg.train_dataloader.batch_size)
