"""Assertions on built modules shared by the model tests.

Test modules import it as ``module_checks`` (``tests/`` is on
``sys.path``, as for ``repo_scripts``).
"""
import torch
import torch.nn as nn

__all__ = ['assert_same_module']

#: attribute types compared by value
PLAIN = (int, float, str, bool, tuple, type(None))


def assert_same_module(a: nn.Module, b: nn.Module) -> None:
    """Assert equal plain attributes (of every submodule), parameters and
    buffers: two builds of one component from differently written
    arguments (grouped and deprecated flat keys) are the same module."""

    def plain(module):
        return {(name, key): value
                for name, sub in module.named_modules()
                for key, value in vars(sub).items()
                if isinstance(value, PLAIN)}

    assert plain(a) == plain(b)
    for named in ('named_parameters', 'named_buffers'):
        tensors_a = dict(getattr(a, named)())
        tensors_b = dict(getattr(b, named)())
        assert tensors_a.keys() == tensors_b.keys()
        for key in tensors_a:
            assert torch.equal(tensors_a[key], tensors_b[key]), key
