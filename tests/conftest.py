"""Shared test set-up: mmseg's modules registered, 'mmseg' default scope."""
import os

import pytest
import torch

os.environ.setdefault('OMP_NUM_THREADS', '1')

from mmseg.utils import register_all_modules  # noqa: E402

import mmseg_reco  # noqa: E402,F401

register_all_modules(init_default_scope=True)
# one intra-op thread: the tests' data loaders and subprocesses share the
# cores, and OpenMP threads spinning against them slow a step down tenfold
torch.set_num_threads(1)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def repo_root():
    """The repository root (configs/, tools/ live there)."""
    return REPO_ROOT
