"""The README.md of each configs/ folder: every config it names exists,
loads and builds; every leaf config is listed in its folder's README and in
no other; one training command templated on ``$CONFIG`` names the folder;
every concrete ``tools/train.py ... --cfg-options`` command applies to its
config (each key already exists, the merged config builds)."""
import argparse
import glob
import os.path as osp
import re
import shlex

import pytest
from mmengine.config import DictAction

from mmseg_reco.utils.config_names import parse_config_name

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO_ROOT, 'configs')
READMES = sorted(
    glob.glob(osp.join(CONFIGS, '**', 'README.md'), recursive=True))
LEAVES = sorted(
    p for p in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
    if '_base_' not in p.split(osp.sep))
# a config file name as the READMEs write it (link, path or bare name)
NAME = re.compile(r'[\w.-]+\.py')
# keys of the seed options: their values name split files, not built here
SEED_KEYS = re.compile(r'^randomness\.seed$|\.ann_file$|\.seg_map_path$')
# the folder's one templated training command and the config it sets
TEMPLATE = re.compile(r'^python tools/train\.py configs/(\S+)/\$CONFIG\.py ',
                      re.M)
CONFIG_VAR = re.compile(r'^CONFIG=(\S+)$', re.M)


def _rel(path):
    return osp.relpath(path, REPO_ROOT)


def _text(readme):
    with open(readme, encoding='utf-8') as f:
        return f.read()


def named_configs(readme):
    """The leaf config names a README mentions, as paths under configs/."""
    names = set()
    for name in NAME.findall(_text(readme)):
        if parse_config_name(name) is None:
            continue  # a base or a tool (../_base_/methods/cmb.py, ...)
        names.add(name)
    return names


def train_commands(readme):
    """Each concrete ``python tools/train.py`` command (continuation lines
    joined) of a README's shell blocks, as an argument list; the templated
    command (``$CONFIG``) is left out."""
    text = _text(readme).replace('\\\n', ' ')
    return [
        shlex.split(line.strip())[2:] for line in text.splitlines()
        if line.strip().startswith('python tools/train.py ')
        and '$' not in line
    ]


def _train_args(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    parser.add_argument('--work-dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def _has_key(cfg, dotted):
    node = cfg.to_dict()
    for part in dotted.split('.'):
        if isinstance(node, (list, tuple)):
            if not part.isdigit() or int(part) >= len(node):
                return False
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                return False
            node = node[part]
        else:
            return False
    return True


def test_every_folder_with_leaves_has_a_readme():
    folders = {osp.dirname(p) for p in LEAVES}
    missing = [_rel(f) for f in folders
               if not osp.exists(osp.join(f, 'README.md'))]
    assert not missing, f'no README.md in {missing}'


@pytest.mark.parametrize('leaf', LEAVES, ids=[_rel(p) for p in LEAVES])
def test_leaf_in_exactly_one_readme(leaf):
    name = osp.basename(leaf)
    holders = [_rel(r) for r in READMES if name in named_configs(r)]
    assert holders == [_rel(osp.join(osp.dirname(leaf), 'README.md'))], (
        f'{name} is named in {holders or "no README"}; it belongs in the '
        'README of its own folder only')


@pytest.mark.parametrize('readme', READMES, ids=[_rel(r) for r in READMES])
def test_readme_configs_exist_and_are_built_leaves(readme):
    """Every config a README names exists and is a leaf, which
    test_configs_build.py loads and builds."""
    folder = osp.dirname(readme)
    names = named_configs(readme)
    assert names, f'{_rel(readme)} names no config'
    for name in sorted(names):
        path = osp.join(folder, name)
        assert osp.exists(path), f'{_rel(readme)} names missing {name}'
        assert osp.abspath(path) in {osp.abspath(p) for p in LEAVES}


COMMANDS = [(readme, argv) for readme in READMES
            for argv in train_commands(readme)]


@pytest.mark.parametrize('readme', READMES, ids=[_rel(r) for r in READMES])
def test_readme_templated_command_trains_a_config_of_its_folder(readme):
    """One ``tools/train.py configs/<folder>/$CONFIG.py`` command, with
    ``CONFIG=`` set to a leaf of that folder, and at least one concrete
    command (the seed options) that test_documented_command_applies
    checks."""
    folder = osp.relpath(osp.dirname(readme), CONFIGS)
    assert TEMPLATE.findall(_text(readme)) == [folder], (
        f'{_rel(readme)}: expected one templated command for configs/{folder}')
    names = CONFIG_VAR.findall(_text(readme))
    assert len(names) == 1, f'{_rel(readme)}: CONFIG= is set {len(names)} times'
    path = osp.abspath(osp.join(osp.dirname(readme), names[0] + '.py'))
    assert path in {osp.abspath(p) for p in LEAVES}, (
        f'{_rel(readme)}: CONFIG={names[0]} is no leaf of configs/{folder}')
    assert train_commands(readme), f'{_rel(readme)}: no concrete command'


@pytest.mark.parametrize(
    'readme,argv', COMMANDS,
    ids=[f'{_rel(r)}:{i}' for i, (r, _) in enumerate(COMMANDS)])
def test_documented_command_applies(readme, argv, config_loader,
                                    model_builder):
    args = _train_args(argv)
    path = osp.join(REPO_ROOT, args.config)
    assert osp.exists(path), f'{_rel(readme)}: no {args.config}'
    assert args.work_dir is None or args.work_dir.startswith('work_dirs/')
    if not args.cfg_options:
        return
    cfg = config_loader(path)
    for key in args.cfg_options:
        assert _has_key(cfg, key), (
            f'{_rel(readme)}: {args.config} has no key {key}')
    cfg.merge_from_dict(args.cfg_options)
    for key, value in args.cfg_options.items():
        assert _has_key(cfg, key)
    if any(not SEED_KEYS.search(k) for k in args.cfg_options):
        # an ablation: the changed model must build
        assert model_builder(cfg.model) > 0
