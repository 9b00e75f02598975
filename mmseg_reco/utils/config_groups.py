"""Grouped constructor arguments: a config dict merged over its defaults.

A component that takes related options as one dict argument (MaskFormer's
``weight_dict``, mmdet's ``loss_cls=dict(...)``) documents the dict's
defaults and calls :func:`merge_group`, so that a config may set any subset
of the keys (``loss_weights=dict(rfc=10.0)``) and a mistyped key is an error
instead of a silently ignored option; :func:`resolve_groups` does both
steps below for all of a component's groups at once.

The flat keyword arguments these components took before the grouping
(:data:`LEGACY_GROUP_KEYS`) stay accepted for one release, as mmseg and
mmdet keep renamed arguments: :func:`legacy_group_keys` moves each into its
group with a DeprecationWarning (also logged) that names the new place, so
configs saved in work dirs and checkpoints' ``meta`` still build.
"""
import logging
import warnings
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

from mmengine.logging import print_log

#: one ``(group, key)``, or one per element of an old tuple argument
LegacyTarget = Union[Tuple[str, str], Tuple[Tuple[str, str], ...]]

#: the flat arguments of ``RC2LTerm``, ``CMBTerm`` and ``RegionHead`` before
#: they took dict arguments (their signatures at commit 6e29255) -> the
#: ``(group, key)`` each became, per component
LEGACY_GROUP_KEYS: Dict[str, Dict[str, LegacyTarget]] = dict(
    RC2LTerm=dict(
        betas=(('loss_weights', 'rmc'), ('loss_weights', 'rfc'),
               ('loss_weights', 'rcc'), ('loss_weights', 'smc')),
        consistency_weight=('loss_weights', 'consistency'),
        object_threshold=('thresholds', 'object'),
        semantic_threshold=('thresholds', 'semantic'),
        overlap_threshold=('thresholds', 'overlap'),
        mask_threshold=('thresholds', 'mask'),
        label_threshold=('thresholds', 'label'),
        rmc_form=('rmc', 'form'),
        tau_m=('rmc', 'tau'),
        rmc_negatives=('rmc', 'negatives'),
        dice_eps=('rmc', 'dice_eps'),
        rfc_form=('rfc', 'form'),
        tau_f=('rfc', 'tau'),
        rfc_negatives=('rfc', 'negatives'),
        detach_target=('rfc', 'detach_target'),
        rcc_eos_coef=('rcc', 'eos_coef'),
        rcc_no_object=('rcc', 'no_object'),
        smc_negatives=('smc', 'negatives'),
        smc_focal_weight=('smc', 'focal_weight'),
        smc_dice_weight=('smc', 'dice_weight'),
        focal_alpha=('smc', 'focal_alpha'),
        focal_gamma=('smc', 'focal_gamma'),
        log_class_regions=('log', 'class_regions'),
        log_grad_norms=('log', 'grad_norms')),
    CMBTerm=dict(
        bank_size=('bank', 'size'),
        feat_dim=('bank', 'feat_dim'),
        conf_threshold=('bank', 'conf_threshold'),
        topk=('bank', 'topk'),
        topk_per=('bank', 'topk_per'),
        rank_with=('bank', 'rank_with'),
        loss_pseudo_weight=('loss_weights', 'pseudo'),
        loss_ent_weight=('loss_weights', 'ent'),
        loss_contr_weight=('loss_weights', 'contr'),
        sharpen=('pseudo', 'sharpen'),
        class_weight=('pseudo', 'class_weight'),
        pseudo_warmup=('pseudo', 'warmup'),
        ent_normalise=('entropy', 'normalise'),
        ent_valid_only=('entropy', 'valid_only'),
        unlabelled_threshold=('contrastive', 'unlabelled_threshold'),
        separate_contrastive=('contrastive', 'separate'),
        detach_attention_input=('contrastive', 'detach_attention_input')),
    RegionHead=dict(
        hidden_dim=('transformer', 'hidden_dim'),
        num_heads=('transformer', 'num_heads'),
        num_layers=('transformer', 'num_layers'),
        ffn_channels=('transformer', 'ffn_channels'),
        transformer_dropout=('transformer', 'dropout'),
        transformer_in_index=('transformer', 'in_index'),
        loss_cls_weight=('loss_weights', 'cls'),
        loss_mask_weight=('loss_weights', 'mask'),
        loss_dice_weight=('loss_weights', 'dice'),
        # the old ``mask_loss`` was the form's name (a str)
        mask_loss=('mask_loss', 'form'),
        focal_alpha=('mask_loss', 'focal_alpha'),
        focal_gamma=('mask_loss', 'focal_gamma'),
        num_points=('point_sample', 'num_points'),
        oversample_ratio=('point_sample', 'oversample_ratio'),
        importance_sample_ratio=('point_sample', 'importance_sample_ratio')))


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


def _targets(target: LegacyTarget) -> Tuple[Tuple[str, str], ...]:
    """The ``(group, key)`` pairs of a :data:`LEGACY_GROUP_KEYS` entry."""
    return target if isinstance(target[0], tuple) else (target, )


def legacy_group_keys(
        owner: str, legacy_kwargs: Mapping[str, Any],
        table: Mapping[str, LegacyTarget],
        groups: Mapping[str, Optional[Mapping[str, Any]]]
) -> Dict[str, Optional[Dict[str, Any]]]:
    """``groups`` with the deprecated flat arguments moved into them.

    Each old argument ``name`` whose ``table`` entry is ``(group, key)``
    becomes ``groups[group][key]``; an entry of several pairs takes a
    sequence of as many values, one per pair (``RC2LTerm``'s ``betas``).
    Every old argument emits a ``DeprecationWarning`` that names its new
    place (and logs it through mmengine, as DeprecationWarnings are hidden
    by default).

    Args:
        owner (str): the component, for the messages (e.g. ``'CMBTerm'``).
        legacy_kwargs (Mapping): the keyword arguments the signature did not
            take (the constructor's ``**legacy``).
        table (Mapping): old name -> ``(group, key)`` or a tuple of them
            (``LEGACY_GROUP_KEYS[owner]``).
        groups (Mapping): the group arguments as given (dict or None).

    Returns:
        dict: ``groups`` with the old values added (a given group that is
        not a dict is returned as given, for :func:`merge_group` to reject).

    Raises:
        TypeError: a name is not in ``table`` (Python's message for an
            unexpected keyword argument), or an old argument and its key in
            the group are both given.
        ValueError: a tuple argument has the wrong number of values.
    """
    merged = dict(groups)
    for name, value in legacy_kwargs.items():
        if name not in table:
            raise TypeError(f'{owner}.__init__() got an unexpected keyword '
                            f"argument '{name}'")
        targets = _targets(table[name])
        if len(targets) == 1:
            values = (value, )
        elif (isinstance(value, Sequence) and not isinstance(value, str)
              and len(value) == len(targets)):
            values = tuple(value)
        else:
            raise ValueError(
                f'{owner}({name}=...) takes {len(targets)} values, for '
                f'{[f"{g}.{k}" for g, k in targets]}; got {value!r}')
        new_groups: Dict[str, Dict[str, Any]] = {}
        for (group, key), item in zip(targets, values):
            new_groups.setdefault(group, {})[key] = item
        new_place = ', '.join(
            f'{group}=dict(' + ', '.join(f'{k}={v!r}'
                                         for k, v in keys.items()) + ')'
            for group, keys in new_groups.items())
        message = (f'{owner}: `{name}={value!r}` is deprecated, use '
                   f'`{new_place}`')
        warnings.warn(message, DeprecationWarning, stacklevel=3)
        print_log(message, logger='current', level=logging.WARNING)
        for group, keys in new_groups.items():
            given = merged.get(group)
            if given is None:
                given = {}
            elif not isinstance(given, Mapping):
                continue
            both = sorted(set(keys) & set(given))
            if both:
                raise TypeError(
                    f'{owner} got both `{name}` and '
                    f'`{group}=dict({", ".join(both)}=...)`, which set the '
                    f'same option: keep only `{group}=dict(...)`')
            merged[group] = {**given, **keys}
    return merged


def resolve_groups(owner: str, groups: Mapping[str, Optional[Mapping[str,
                                                                     Any]]],
                   defaults: Mapping[str, Mapping[str, Any]],
                   legacy: Optional[Mapping[str, Any]] = None
                   ) -> Tuple[Dict[str, Any], ...]:
    """Every group argument of ``owner``, ready to use.

    The deprecated flat arguments in ``legacy`` are moved into their groups
    (:func:`legacy_group_keys` with ``LEGACY_GROUP_KEYS[owner]``), then each
    group is merged over its defaults (:func:`merge_group`).

    Args:
        owner (str): the component, a key of :data:`LEGACY_GROUP_KEYS`.
        groups (Mapping): argument name -> the dict given (or None).
        defaults (Mapping): argument name -> its defaults.
        legacy (Mapping, optional): the flat keyword arguments the
            signature did not take. Default: None (none).

    Returns:
        tuple[dict, ...]: the merged groups, in the order of ``groups``.
    """
    given = legacy_group_keys(owner, legacy or {}, LEGACY_GROUP_KEYS[owner],
                              groups)
    return tuple(
        merge_group(owner, name, given[name], defaults[name])
        for name in groups)
