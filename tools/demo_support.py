"""What the demo runs need: the canvases, the pre-trained backbone, a split.

``tools/demo.py`` and ``benchmarks/accuracy.py`` train on the Fashion-MNIST
canvases (``tools/prepare_demo.py``) from the backbone pre-trained by
``tools/pretrain_backbone.py``, on a class-balanced labelled split written
by ``tools/make_splits.py``. This module holds the paths they share and
makes the checkpoint and the split when they are missing, running those
tools as they would be run by hand.

It belongs to the command lines, not to the ``mmseg_reco`` package:
relative paths are relative to the checkout that holds this file
(:data:`REPO_ROOT`, where the tools run), whichever checkout the installed
``mmseg_reco`` comes from. Scripts in ``tools/`` import it as
``demo_support`` (their folder is on ``sys.path``); ``benchmarks/`` scripts
add their checkout's ``tools/`` to ``sys.path``; shell scripts read a
path with ``python -c 'import sys; sys.path.insert(0, "tools"); ...'``
from the repository root.
"""
import os.path as osp
import subprocess
import sys
import time
from typing import Optional, Sequence, Tuple

#: The checkout holding this file, ``tools/``, ``configs/`` and ``data/``.
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: The demo canvases (``tools/prepare_demo.py``).
DATA_ROOT = 'data/fashion_canvas'
#: The backbone pre-trained on Fashion-MNIST (``tools/pretrain_backbone.py``).
PRETRAINED_CHECKPOINT = 'work_dirs/pretrain/resnet18w32-v1c_fashion-mnist.pth'


def repo_path(path: str) -> str:
    """``path`` as an absolute path, relative ones taken from
    :data:`REPO_ROOT`."""
    return path if osp.isabs(path) else osp.join(REPO_ROOT, path)


def _run_tool(command: Sequence[str]) -> float:
    """Run ``python <tool> <args>`` in the repository; returns seconds."""
    print('$ python ' + ' '.join(command), flush=True)
    start = time.time()
    subprocess.check_call([sys.executable] + list(command), cwd=REPO_ROOT)
    return time.time() - start


def ensure_pretrained(checkpoint: str = PRETRAINED_CHECKPOINT,
                      device: str = 'cpu',
                      extra_args: Sequence[str] = ()) -> Optional[float]:
    """Pre-train the demo backbone when ``checkpoint`` is missing.

    Args:
        checkpoint (str): The checkpoint path. Default:
            :data:`PRETRAINED_CHECKPOINT`.
        device (str): Device of the pre-training. Default: 'cpu'.
        extra_args (Sequence[str]): More ``tools/pretrain_backbone.py``
            arguments (e.g. ``['--iters', '50']``). Default: none.

    Returns:
        float | None: Seconds the pre-training took; None when the
        checkpoint was there.

    Raises:
        subprocess.CalledProcessError: The pre-training failed.
    """
    if osp.isfile(repo_path(checkpoint)):
        return None
    print(f'{checkpoint} missing: pre-training the demo backbone',
          flush=True)
    seconds = _run_tool(['tools/pretrain_backbone.py', '--out',
                         repo_path(checkpoint), '--device', device] +
                        list(extra_args))
    print(f'backbone pre-trained in {seconds:.0f} s', flush=True)
    return seconds


def split_files(num_labelled: int, seed: int = 0) -> Tuple[str, str]:
    """The class-balanced split's files, relative to the data root.

    Returns:
        tuple[str, str]: ``splits/labelled-<N>[-seed<k>].txt`` and
        ``splits/unlabelled-<N>[-seed<k>].txt``, the names
        ``tools/make_splits.py class-balanced`` writes (no suffix for seed
        0).
    """
    suffix = '' if int(seed) == 0 else f'-seed{int(seed)}'
    return (f'splits/labelled-{num_labelled}{suffix}.txt',
            f'splits/unlabelled-{num_labelled}{suffix}.txt')


def ensure_split(num_labelled: int, seed: int = 0,
                 data_root: str = DATA_ROOT) -> Tuple[str, str]:
    """Write the class-balanced split of the canvases when it is missing.

    Args:
        num_labelled (int): Labelled canvases.
        seed (int): Seed of the split. Default: 0.
        data_root (str): The canvases. Default: :data:`DATA_ROOT`.

    Returns:
        tuple[str, str]: The labelled and unlabelled split files (paths
        as :func:`repo_path` resolves them).

    Raises:
        FileNotFoundError: ``data_root`` holds no canvases, or the tool
            did not write the files.
        subprocess.CalledProcessError: ``tools/make_splits.py`` failed.
    """
    root = repo_path(data_root)
    paths = tuple(osp.join(root, f) for f in split_files(num_labelled, seed))
    if all(osp.isfile(p) for p in paths):
        return paths
    if not osp.isfile(osp.join(root, 'splits', 'train.txt')):
        raise FileNotFoundError(
            f'{data_root} holds no demo data: run tools/prepare_demo.py '
            '(bash tools/setup_env.sh does)')
    _run_tool(['tools/make_splits.py', 'class-balanced', '--dataset',
               'fashion_canvas', '--data-root', root, '--num-labelled',
               str(num_labelled), '--seed', str(seed)])
    for path in paths:
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path} was not written')
    return paths


__all__ = [
    'REPO_ROOT', 'DATA_ROOT', 'PRETRAINED_CHECKPOINT', 'repo_path',
    'ensure_pretrained', 'split_files', 'ensure_split'
]
