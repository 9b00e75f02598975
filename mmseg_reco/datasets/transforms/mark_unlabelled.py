"""Mark an image as unlabelled while keeping its (partial) labels."""
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class MarkUnlabelled(BaseTransform):
    """Send an image to the unlabelled branch of :class:`SemiSegmentor`.

    :class:`SemiSegmentor` treats a sample as unlabelled when it has no
    ``gt_sem_seg`` or when its meta information holds ``unlabelled=True``.
    This transform sets ``results['unlabelled'] = True``, so that an image
    can carry labels and still be unlabelled. ReCo's partial-label protocol
    (arXiv 2104.04465, section 4.1 and Table 3) needs this: every training
    image is also an unlabelled image, and its partial labels replace the
    teacher's
    pseudo-labels where they exist (:meth:`SemiSegmentor.
    merge_partial_labels`).

    ``PackSegInputs`` must pack the key, e.g.::

        dict(type='MarkUnlabelled'),
        dict(type='PackSegInputs',
             meta_keys=('img_path', 'seg_map_path', 'ori_shape',
                        'img_shape', 'pad_shape', 'scale_factor', 'flip',
                        'flip_direction', 'reduce_zero_label', 'unlabelled'))

    Added keys: ``unlabelled`` (True).
    """

    def transform(self, results: dict) -> dict:
        results['unlabelled'] = True
        return results
