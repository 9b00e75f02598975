"""The modes of a pseudo-labelling network's layers: normalisation in
batch-statistics or eval mode, dropout and drop-path off."""
import torch.nn as nn


def is_dropout(module: nn.Module) -> bool:
    """Whether ``module`` drops activations at random in train mode.

    ``torch.nn``'s dropout layers (``Dropout``, ``Dropout1d/2d/3d``,
    ``AlphaDropout``, ...) and drop-path layers (mmcv's and timm's
    ``DropPath``, recognised by class name).
    """
    return (isinstance(module, nn.modules.dropout._DropoutNd)
            or type(module).__name__ == 'DropPath')


def set_teacher_mode(teacher: nn.Module,
                     norm_train: bool,
                     dropout: bool = False) -> None:
    """Put the teacher's normalisation and dropout layers in their modes.

    Args:
        teacher (nn.Module): the teacher network.
        norm_train (bool): train mode (batch statistics) for the
            normalisation layers and every other module; False puts the
            whole teacher in eval mode.
        dropout (bool): keep dropout/drop-path active when ``norm_train``.
            Default: False.
    """
    teacher.train(norm_train)
    if norm_train and not dropout:
        for module in teacher.modules():
            if is_dropout(module):
                module.eval()
