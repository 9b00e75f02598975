"""The repository's command-line scripts as modules, for their own tests."""
import importlib.util
import os.path as osp
import sys
from types import ModuleType
from typing import Optional

from ..demo import REPO_ROOT

__all__ = ['load_script']


def load_script(relpath: str, name: Optional[str] = None) -> ModuleType:
    """Load a script of the repository (``tools/``, ``benchmarks/``: no
    packages) by its path.

    The module is registered in ``sys.modules`` under ``name``, so that its
    functions pickle (a process pool of ``--nproc`` > 1).

    Args:
        relpath (str): path from the repository root, e.g.
            ``'tools/make_splits.py'``.
        name (str, optional): module name. Default: ``'script_'`` and the
            path with ``/`` and ``.py`` replaced.

    Returns:
        ModuleType: the executed module.
    """
    if name is None:
        name = 'script_' + relpath.replace('/', '_')[:-len('.py')]
    spec = importlib.util.spec_from_file_location(
        name, osp.join(REPO_ROOT, relpath))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
