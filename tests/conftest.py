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


#: Set (to any non-empty value) by ``.ci/run``: a test whose demo data or
#: Fashion-MNIST files are missing then fails instead of being skipped, so
#: that a broken set-up cannot pass CI by skipping.
REQUIRE_DATA_ENV = 'MMSEG_RECO_REQUIRE_DATA'


def require_data(paths, reason):
    """Skip the running test when a path in ``paths`` is missing, or fail it
    when :data:`REQUIRE_DATA_ENV` is set.

    Args:
        paths (str | Sequence[str]): files or folders the test reads.
        reason (str): what is missing and how to make it.
    """
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else paths
    missing = [str(p) for p in paths if not os.path.exists(p)]
    if not missing:
        return
    message = f'{reason} (missing: {", ".join(missing)})'
    if os.environ.get(REQUIRE_DATA_ENV):
        pytest.fail(f'{message}; {REQUIRE_DATA_ENV} is set, so the data is '
                    'required', pytrace=False)
    pytest.skip(message)


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'needs_data(*paths, reason): the test reads these files; '
        f'skipped when one is missing, failed when {REQUIRE_DATA_ENV} is set')


def pytest_runtest_setup(item):
    for mark in item.iter_markers('needs_data'):
        require_data(mark.args, mark.kwargs.get('reason', 'data missing'))


@pytest.fixture(name='require_data')
def require_data_fixture():
    """:func:`require_data`, for checks inside fixtures and tests."""
    return require_data
