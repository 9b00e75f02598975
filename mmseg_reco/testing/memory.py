"""Peak extra memory of a callable, for the benchmarks.

* cuda: ``torch.cuda.max_memory_allocated()`` during the call minus the
  memory allocated just before, i.e. every tensor the call allocates
  (:func:`cuda_peak_extra`);
* cpu: in a child process, the peak resident set (``VmHWM`` of
  ``/proc/self/status``, reset through ``/proc/self/clear_refs``) during the
  call minus the resident set just before (:func:`rss_peak_extra`, run in
  the child started by :func:`run_memory_child`). The child runs with glibc's
  ``MALLOC_MMAP_THRESHOLD_`` pinned at 64 KiB so that freed tensors are
  returned to the system and the resident set follows the live tensors.
"""
import os
import subprocess
import sys
from typing import Callable, List, Tuple

import torch

__all__ = [
    'MMAP_ENV', 'MMAP_THRESHOLD', 'status_kib', 'rss_peak_extra',
    'cuda_peak_extra', 'run_memory_child'
]

MMAP_ENV = 'MALLOC_MMAP_THRESHOLD_'
MMAP_THRESHOLD = str(64 * 1024)


def status_kib(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (e.g. ``VmRSS``)."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'{field} not in /proc/self/status')


def rss_peak_extra(fn: Callable[[], object]) -> int:
    """Peak resident bytes of ``fn()`` above the resident set before it.

    Meant for a child process started by :func:`run_memory_child`; call
    ``fn`` once before (warm-up) so that lasting allocations such as
    gradients already exist.
    """
    base = status_kib('VmRSS')
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # reset VmHWM to the current resident set
    fn()
    return (status_kib('VmHWM') - base) * 1024


def cuda_peak_extra(fn: Callable[[], object]) -> int:
    """Peak allocated CUDA bytes of ``fn()`` above those allocated before."""
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    fn()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base


def run_memory_child(script: str, argv: List[str]) -> Tuple[int, str]:
    """Run ``python script *argv`` with the pinned mmap threshold.

    The child must print the measured bytes as the last line of its
    standard output (e.g. the value of :func:`rss_peak_extra`).

    Returns:
        tuple[int, str]: the bytes and a description of the measurement.
    """
    env = dict(os.environ, **{MMAP_ENV: MMAP_THRESHOLD})
    child = subprocess.run([sys.executable, os.path.abspath(script)] + argv,
                           env=env,
                           check=True,
                           capture_output=True,
                           text=True)
    extra = int(child.stdout.strip().splitlines()[-1])
    return extra, (f'child process: peak RSS (VmHWM) minus RSS before, '
                   f'{MMAP_ENV}={MMAP_THRESHOLD}')
