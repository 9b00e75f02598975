"""The methods of the accuracy benchmark: key, name, config and the
options each sets on top of its config.

One table for the command lines that train the methods on the demo
canvases: ``benchmarks/accuracy.py`` (over seeds) and ``tools/gpu_check.py``
(every demo config through ``tools/train.py`` on a GPU). Standard library
only: ``tools/gpu_check.py`` reads it before mmengine is installed.
``benchmarks/`` scripts import it as ``accuracy_methods`` (their folder is
on ``sys.path``); ``tools/`` scripts add their checkout's ``benchmarks/``
to ``sys.path`` first.
"""
from collections import OrderedDict
from typing import Dict

#: key -> (name in tables, config); a method runs when its config exists
METHODS = OrderedDict([
    ('supervised', ('Supervised', 'configs/baselines/'
     'supervised_deeplabv3plus-r18w32-d16_'
     '1xb16-2k_fashion-canvas-10lab.py')),
    ('cutout', ('CutOut', 'configs/baselines/'
     'cutout_deeplabv3plus-r18w32-d16_'
     '1xb8-2k_fashion-canvas-10lab.py')),
    ('cutmix', ('CutMix', 'configs/baselines/'
     'cutmix_deeplabv3plus-r18w32-d16_'
     '1xb8-2k_fashion-canvas-10lab.py')),
    ('classmix', ('ClassMix', 'configs/baselines/'
     'classmix_deeplabv3plus-r18w32-d16_'
     '1xb8-2k_fashion-canvas-10lab.py')),
    ('reco', ('ReCo+ClassMix', 'configs/reco/'
     'reco-classmix_deeplabv3plus-r18w32-d16-rep_'
     '1xb8-2k_fashion-canvas-10lab.py')),
    ('cmb', ('Memory bank', 'configs/cmb/'
     'cmb_deeplabv3plus-r18w32-d16_'
     '1xb8-2k_fashion-canvas-10lab.py')),
    ('s4gan', ('S4GAN', 'configs/s4gan/'
     's4gan_deeplabv3plus-r18w32-d16_'
     '1xb8-2k_fashion-canvas-10lab.py')),
    ('fixmatch', ('FixMatch', 'configs/unimatch/'
     'fixmatch_deeplabv3plus-r18w32-d16_'
     '1xb8-2k_fashion-canvas-10lab.py')),
    ('unimatch', ('UniMatch', 'configs/unimatch/'
     'unimatch_deeplabv3plus-r18w32-d16_'
     '1xb8-2k_fashion-canvas-10lab.py')),
    ('reco-unimatch', ('ReCo+UniMatch', 'configs/unimatch/'
     'reco-unimatch_deeplabv3plus-r18w32-d16-rep_'
     '1xb8-2k_fashion-canvas-10lab.py')),
    ('supervised-full', ('Supervised (all labels)', 'configs/baselines/'
     'supervised_deeplabv3plus-r18w32-d16_'
     '1xb16-2k_fashion-canvas-10lab.py')),
    ('classmix-oracle', ('ClassMix (oracle)', 'configs/baselines/'
     'classmix_deeplabv3plus-r18w32-d16_'
     '1xb8-2k_fashion-canvas-10lab.py')),
    ('fixmatch-oracle', ('FixMatch (oracle)', 'configs/unimatch/'
     'fixmatch_deeplabv3plus-r18w32-d16_'
     '1xb8-2k_fashion-canvas-10lab.py')),
    ('supervised-region', ('Supervised (region model)', 'configs/rc2l/'
     'supervised_region-r18w32_'
     '1xb8-2k_fashion-canvas-10lab.py')),
    ('rc2l', ('RC2L', 'configs/rc2l/'
     'rc2l_region-r18w32_'
     '1xb8-2k_fashion-canvas-10lab.py')),
    ('supervised-region-full', ('Supervised (region model, all labels)',
                                'configs/rc2l/'
     'supervised_region-r18w32_'
     '1xb8-2k_fashion-canvas-10lab.py')),
    ('supervised-region-oracle', ('Supervised (region model, unlabelled '
                                  'half labelled)',
                                  'configs/rc2l/'
     'supervised_region-r18w32_'
     '1xb8-2k_fashion-canvas-10lab.py')),
    ('rc2l-oracle', ('RC2L (true regions)', 'configs/rc2l/'
     'rc2l_region-r18w32_'
     '1xb8-2k_fashion-canvas-10lab.py')),
    ('supervised-oracle', ('Supervised (unlabelled half labelled)',
                           'configs/baselines/'
     'supervised_deeplabv3plus-r18w32-d16_'
     '1xb16-2k_fashion-canvas-10lab.py')),
    ('classmix-joint', ('ClassMix (one joint student pass)',
                        'configs/baselines/'
     'classmix_deeplabv3plus-r18w32-d16_'
     '1xb8-2k_fashion-canvas-10lab.py')),
])
#: options a method sets on top of its config (``--cfg-options`` style)
METHOD_OPTIONS = {
    'classmix-joint': {'model.semi_train_cfg.student_forward': 'joint'},
    'rc2l-oracle': {'model.method_losses.0.regions_from': 'pixel_labels'},
    # the semi-supervised methods' batch: 8 labelled + 8 unlabelled
    'supervised-oracle': {'train_dataloader.sampler.num_labelled': 8},
}
DEFAULT_METHODS = ('supervised', 'classmix', 'reco', 'cmb', 'supervised-full')
#: trained on every training canvas (``splits/train.txt``)
FULL_LABEL_METHODS = ('supervised-full', 'supervised-region-full')
#: each step draws as many images from the unlabelled split as from the
#: labelled one, loaded with their labels: the ceiling of a semi-supervised
#: method's batch (its labelled images plus its unlabelled ones, perfectly
#: pseudo-labelled)
ORACLE_METHODS = ('supervised-region-oracle', 'supervised-oracle')
#: the unlabelled canvases keep their labels in the weak view
#: (``MarkUnlabelled``, as in the partial-label protocol): unlabelled for
#: the semi-supervised step, known to the method
KNOWN_UNLABELLED_METHODS = ('rc2l-oracle', 'classmix-oracle', 'fixmatch-oracle')
#: the weak view with the labels (the partial-label base's)
KNOWN_WEAK_PIPELINE_BASE = 'configs/_base_/datasets/fashion_canvas_partial.py'
#: method -> name in the tables
NAMES = {key: name for key, (name, _) in METHODS.items()}


def distinct_configs() -> Dict[str, str]:
    """Method -> config, one method per config (the first in
    :data:`METHODS`): ``supervised-full`` shares Supervised's config, the
    oracles and ``classmix-joint`` their method's."""
    configs = OrderedDict()
    for method, (_, config) in METHODS.items():
        if config not in configs.values():
            configs[method] = config
    return configs


__all__ = [
    'METHODS', 'METHOD_OPTIONS', 'DEFAULT_METHODS', 'FULL_LABEL_METHODS',
    'ORACLE_METHODS', 'KNOWN_UNLABELLED_METHODS', 'KNOWN_WEAK_PIPELINE_BASE',
    'NAMES', 'distinct_configs'
]
