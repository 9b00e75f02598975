"""The repository's command-line scripts as modules, for their own tests.

Test modules import it as ``repo_scripts``: ``tests/conftest.py`` puts
``tests/`` on ``sys.path`` (pytest's default ``prepend`` import mode, no
``__init__.py``).
"""
import importlib.util
import os.path as osp
import sys
from types import ModuleType
from typing import Optional

__all__ = ['REPO_ROOT', 'load_script']

#: The checkout holding ``tests/``, ``tools/`` and ``benchmarks/``.
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_script(relpath: str, name: Optional[str] = None) -> ModuleType:
    """Load a script of the repository (``tools/``, ``benchmarks/``: no
    packages) by its path.

    As ``python <script>`` does, the script's folder is on ``sys.path``
    (appended), so that the script imports its neighbours
    (``demo_support``, ``accuracy_methods``). The module is registered in
    ``sys.modules`` under ``name``, so that its functions pickle (a process
    pool of ``--nproc`` > 1).

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
    path = osp.join(REPO_ROOT, relpath)
    folder = osp.dirname(path)
    if folder not in sys.path:
        sys.path.append(folder)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
