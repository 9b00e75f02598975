# Copyright (c) mmseg_reco contributors. All rights reserved.
"""What the strong augmentation did to the pixels of a batch, and the one
function that maps any dense target through it.

The strong view moves pixels in three steps (:class:`StrongAugment`)::

    rescale + crop  (per-image scale and crop offsets)
      -> mix        (keep mask: own image, or its partner / an erased box)
      -> flip       (per-image horizontal flip)

Colour jitter and blur do not move pixels. :class:`TransformRecord` keeps
the random draws of the three steps, so that a target that was not carried
through the augmentation (the teacher's segments of a region method, a
confidence map, a label map) can be moved into the strong view afterwards
by :func:`project_target`, exactly as if it had been augmented alongside
the image (nearest neighbour for integer and bool maps). This is the
segmentation counterpart of mmdet 3.x's ``homography_matrix``, through
which ``SemiBaseDetector.project_pseudo_instances`` maps the teacher's
boxes into the student's view.
"""
from dataclasses import dataclass
from typing import List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass
class TransformRecord:
    """The geometric draws of strong views of ``Nu`` images.

    A record holds ``num_views`` views of the same ``Nu`` source images,
    view after view (N = num_views * Nu rows, as ``SemiBatch`` stacks
    them); within a view the mixing partner of image ``i`` is image
    ``(i + 1) mod Nu``.

    Attributes:
        size (tuple[int, int]): (H, W) of the images and the view.
        num_images (int): Nu, the source images of one view.
        scale (Tensor, optional): (N,) rescale factors; None: no rescale.
        top (Tensor, optional): (N,) crop rows of the rescaled image.
        left (Tensor, optional): (N,) crop columns.
        keep (Tensor, optional): (N, H, W) bool mix mask in the rescaled
            frame: True keeps the image's own pixel, False takes the
            partner's (ClassMix, CutMix) or erases it (CutOut). None: no
            mixing.
        erase (bool): the pixels outside ``keep`` are erased (CutOut), not
            taken from the partner. Default: False.
        flip (Tensor, optional): (N,) bool, mirrored left-right (after the
            mix). None: no flip.
    """
    size: Tuple[int, int]
    num_images: int
    scale: Optional[Tensor] = None
    top: Optional[Tensor] = None
    left: Optional[Tensor] = None
    keep: Optional[Tensor] = None
    erase: bool = False
    flip: Optional[Tensor] = None

    @property
    def num_views(self) -> int:
        """Views of each source image."""
        rows = [
            t.shape[0] for t in (self.scale, self.keep, self.flip)
            if t is not None
        ]
        return rows[0] // self.num_images if rows else 1

    @property
    def moves_pixels(self) -> bool:
        """Whether any pixel may leave its place (rescale, mix or flip)."""
        return (self.scale is not None or self.keep is not None
                or self.flip is not None)

    def partner(self, x: Tensor) -> Tensor:
        """Rows rolled by one within each view: row ``i`` of a view is
        its ``(i + 1) mod Nu``.

        Args:
            x (Tensor): (N, ...) with N = num_views * Nu.

        Returns:
            Tensor: (N, ...).
        """
        views = x.reshape(-1, self.num_images, *x.shape[1:])
        return views.roll(-1, dims=1).reshape(x.shape)

    def from_partner(self) -> Tensor:
        """The view's pixels that show the mixing partner.

        Returns:
            Tensor: (N, H, W) bool; all False without mixing, for CutOut and
            for a view of one image (its own partner).
        """
        num = self.num_views * self.num_images
        pasted = torch.zeros((num, *self.size),
                             dtype=torch.bool,
                             device=self._device())
        if self.keep is not None and not self.erase and self.num_images > 1:
            pasted = ~self.keep
        return _flip(pasted, self.flip)

    def _device(self) -> torch.device:
        for t in (self.scale, self.keep, self.flip):
            if t is not None:
                return t.device
        return torch.device('cpu')

    @staticmethod
    def stack(records: List['TransformRecord']) -> 'TransformRecord':
        """One record of several views of the same images, view after view.

        Args:
            records (list[TransformRecord]): one view each, alike in size,
                images and steps.

        Returns:
            TransformRecord: ``len(records)`` views.
        """
        first = records[0]
        if len(records) == 1:
            return first

        def cat(name: str) -> Optional[Tensor]:
            parts = [getattr(r, name) for r in records]
            return None if parts[0] is None else torch.cat(parts)

        return TransformRecord(
            size=first.size,
            num_images=first.num_images,
            scale=cat('scale'),
            top=cat('top'),
            left=cat('left'),
            keep=cat('keep'),
            erase=first.erase,
            flip=cat('flip'))


def rescale_grid(scale: Tensor, top: Tensor, left: Tensor,
                 size: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
    """Sampling grid of a per-image rescale + crop back to ``size``.

    Image ``n`` is resized to ``(floor(H * s_n), floor(W * s_n))``, padded
    at the bottom and right up to at least (H, W), and cropped at
    ``(top_n, left_n)`` to (H, W) (ReCo's ``transform``).

    Args:
        scale (Tensor): (N,) scale factors.
        top (Tensor): (N,) integer-valued crop rows.
        left (Tensor): (N,) integer-valued crop columns.
        size (tuple[int, int]): (H, W).

    Returns:
        tuple[Tensor, Tensor]: the ``grid_sample`` grid (N, H, W, 2)
        (``align_corners=False``) and the (N, H, W) bool mask of the pixels
        inside the rescaled image (the others are padding).
    """
    height, width = size
    num = scale.shape[0]
    device = scale.device
    scale = scale.float()
    res_h = torch.floor(height * scale).clamp_min(1)  # (N,)
    res_w = torch.floor(width * scale).clamp_min(1)
    rows = torch.arange(height, device=device, dtype=torch.float32)
    cols = torch.arange(width, device=device, dtype=torch.float32)
    rows = rows.view(1, -1) + top.float().view(-1, 1)  # (N, H)
    cols = cols.view(1, -1) + left.float().view(-1, 1)  # (N, W)
    # Pixel centres of the resized frame in normalised source coordinates
    # (align_corners=False): the source spans the resized frame exactly.
    grid_y = 2 * (rows + 0.5) / res_h.view(-1, 1) - 1
    grid_x = 2 * (cols + 0.5) / res_w.view(-1, 1) - 1
    grid = torch.stack((grid_x.view(num, 1, width).expand(
        -1, height, -1), grid_y.view(num, height, 1).expand(-1, -1, width)),
                       dim=-1)
    valid = ((rows < res_h.view(-1, 1)).view(num, height, 1)
             & (cols < res_w.view(-1, 1)).view(num, 1, width))
    return grid, valid


def resample(target: Tensor,
             grid: Tensor,
             valid: Tensor,
             fill: Union[int, float, bool],
             mode: str = 'nearest') -> Tensor:
    """Sample a dense target on a grid, ``fill`` outside ``valid``.

    Args:
        target (Tensor): (N, H, W) or (N, C, H, W), any dtype; integer and
            bool targets keep their values (use ``mode='nearest'``).
        grid (Tensor): (N, H, W, 2) sampling grid (:func:`rescale_grid`).
        valid (Tensor): (N, H, W) bool.
        fill (int | float | bool): value of the pixels outside ``valid``.
        mode (str): ``grid_sample`` mode. Default: 'nearest'.

    Returns:
        Tensor: the target's shape and dtype.
    """
    planar = target.dim() == 3
    source = target.unsqueeze(1) if planar else target
    sampled = F.grid_sample(
        source.float(),
        grid,
        mode=mode,
        padding_mode='border',
        align_corners=False)
    if planar:
        sampled = sampled.squeeze(1)
    if target.dtype == torch.bool:
        sampled = sampled > 0.5
    elif target.is_floating_point():
        sampled = sampled.to(target.dtype)
    else:
        sampled = sampled.round().to(target.dtype)
    inside = valid if planar else valid.unsqueeze(1)
    return torch.where(inside, sampled, torch.full_like(sampled, fill))


def _flip(target: Tensor, flip: Optional[Tensor]) -> Tensor:
    """Mirror the rows of ``target`` where ``flip`` is True."""
    if flip is None:
        return target
    flip = flip.view(-1, *([1] * (target.dim() - 1)))
    return torch.where(flip, target.flip(-1), target)


def project_target(record: TransformRecord,
                   target: Tensor,
                   fill: Union[int, float, bool],
                   mode: str = 'nearest') -> Tensor:
    """Map a dense target of the source images into their strong views.

    The same rescale + crop, mix and flip the images went through
    (:class:`TransformRecord`): a target carried through the augmentation
    and a target projected afterwards are equal. Padding of the rescale
    and CutOut's box get ``fill``; mixing takes the partner's projected
    target.

    Args:
        record (TransformRecord): the strong views' draws.
        target (Tensor): (Nu, H, W) or (Nu, C, H, W) at the images' size,
            any dtype (labels, segment ids, confidence, bool masks), one
            row per source image; or N = num_views * Nu rows, one per view.
        fill (int | float | bool): value where the view holds no source
            pixel (``ignore_index`` for labels, 0 for confidence).
        mode (str): resampling of the rescale, ``'nearest'`` (labels,
            masks; ReCo's confidence) or ``'bilinear'`` (float targets).
            Default: 'nearest'.

    Returns:
        Tensor: (N, ...) with N = num_views * Nu, the target's dtype.
    """
    if tuple(target.shape[-2:]) != tuple(record.size):
        raise ValueError(
            f'project_target maps targets at the images\' size '
            f'{tuple(record.size)}, got {tuple(target.shape)}; resize the '
            'target first (nearest for labels and masks)')
    views = record.num_views
    if target.shape[0] == record.num_images and views > 1:
        target = target.repeat(views, *([1] * (target.dim() - 1)))
    if record.scale is not None:
        grid, valid = rescale_grid(record.scale, record.top, record.left,
                                   record.size)
        target = resample(target, grid, valid, fill, mode)
    if record.keep is not None:
        keep = record.keep if target.dim() == 3 else record.keep.unsqueeze(1)
        other = (
            torch.full_like(target, fill)
            if record.erase else record.partner(target))
        target = torch.where(keep, target, other)
    return _flip(target, record.flip)
