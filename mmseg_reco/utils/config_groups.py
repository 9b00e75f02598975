"""Grouped constructor arguments: a config dict merged over its defaults.

A component that takes related options as one dict argument (MaskFormer's
``weight_dict``, mmdet's ``loss_cls=dict(...)``) documents the dict's
defaults and calls :func:`merge_group`, so that a config may set any subset
of the keys (``loss_weights=dict(rfc=10.0)``) and a mistyped key is an error
instead of a silently ignored option.
"""
from typing import Any, Dict, Mapping, Optional


def merge_group(owner: str, name: str, given: Optional[Mapping[str, Any]],
                defaults: Mapping[str, Any]) -> Dict[str, Any]:
    """``defaults`` updated with ``given``.

    Args:
        owner (str): the component, for the error (e.g. ``'RC2LTerm'``).
        name (str): the argument, for the error (e.g. ``'loss_weights'``).
        given (Mapping, optional): the config's dict; None: the defaults.
        defaults (Mapping): every accepted key with its default.

    Returns:
        dict: a new dict with exactly the keys of ``defaults``.

    Raises:
        TypeError: ``given`` is not a dict.
        ValueError: ``given`` has a key that ``defaults`` lacks; the message
            names the argument and the accepted keys.
    """
    if given is None:
        return dict(defaults)
    if not isinstance(given, Mapping):
        raise TypeError(
            f'{owner}({name}=...) takes a dict with the keys '
            f'{sorted(defaults)}, got {type(given).__name__}: {given!r}')
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(
            f'{owner}({name}=...) got the unknown key(s) {unknown}; the '
            f'accepted keys are {sorted(defaults)} (defaults: '
            f'{dict(defaults)})')
    return {**defaults, **given}
