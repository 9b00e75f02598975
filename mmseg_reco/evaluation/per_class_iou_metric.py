"""mmseg's IoUMetric plus the per-class figures as logged scalars."""
from collections import OrderedDict
from typing import Dict, Sequence

import numpy as np

from mmseg.evaluation.metrics import IoUMetric
from mmseg.registry import METRICS


@METRICS.register_module()
class PerClassIoUMetric(IoUMetric):
    """:class:`~mmseg.evaluation.IoUMetric` that also returns per-class keys.

    mmseg's ``IoUMetric`` logs its per-class table as text only, so the
    per-class IoU of a run never reaches ``vis_data/scalars.json``. This
    metric returns the same summary (``aAcc``, ``mIoU``, ...) plus one key
    per class and per-class metric, ``<metric>.<class name>`` (e.g.
    ``IoU.background``), in percent rounded to two decimals like the summary.
    Classes for which the metric is undefined (no pixel of the class in the
    ground truth nor in the predictions) get no key, since NaN is not valid
    JSON. ``tools/analysis/aggregate.py`` reads these keys.

    ``pred_key`` names the prediction a data sample is scored by
    (default ``'pred_sem_seg'``); with ``SemiSegmentor``'s
    ``semi_test_cfg.predict_both`` a second metric with
    ``pred_key='student_pred_sem_seg'`` (or ``'teacher_pred_sem_seg'``) and
    a ``prefix`` scores the other model in the same evaluation, e.g.
    ``student/mIoU``.

    Args:
        pred_key (str): the data sample field holding the prediction.
            Default: ``'pred_sem_seg'``.
        class_metrics (Sequence[str]): per-class metrics to return, any of
            ``'IoU'``, ``'Acc'``, ``'Dice'``, ``'Fscore'``, ``'Precision'``,
            ``'Recall'`` that ``iou_metrics`` computes. Default: ``('IoU',)``.
        **kwargs: passed to :class:`~mmseg.evaluation.IoUMetric`
            (``iou_metrics``, ``ignore_index``, ``nan_to_num``, ...).
    """

    #: per-class metrics that each of ``iou_metrics`` computes
    CLASS_METRICS = {
        'mIoU': {'IoU', 'Acc'},
        'mDice': {'Dice', 'Acc'},
        'mFscore': {'Fscore', 'Precision', 'Recall'},
    }

    def __init__(self,
                 class_metrics: Sequence[str] = ('IoU', ),
                 pred_key: str = 'pred_sem_seg',
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.pred_key = pred_key
        computed = set()
        for metric in self.metrics:
            computed |= self.CLASS_METRICS[metric]
        unknown = sorted(set(class_metrics) - computed)
        if unknown:
            raise ValueError(
                f'class_metrics {unknown} are not computed by iou_metrics='
                f'{self.metrics}; choose from {sorted(computed)}')
        self.class_metrics = tuple(class_metrics)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Score the prediction under ``pred_key`` (see the class doc)."""
        if self.pred_key != 'pred_sem_seg':
            missing = [i for i, s in enumerate(data_samples)
                       if self.pred_key not in s]
            if missing:
                raise KeyError(
                    f'PerClassIoUMetric(pred_key={self.pred_key!r}): the '
                    'predictions hold no such field; for a SemiSegmentor set '
                    'model.semi_test_cfg.predict_both=True')
            data_samples = [
                dict(s, pred_sem_seg=s[self.pred_key]) for s in data_samples
            ]
        super().process(data_batch, data_samples)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """The summary of ``IoUMetric`` plus ``<metric>.<class>`` keys.

        Args:
            results (list): per-image tuples (area_intersect, area_union,
                area_pred_label, area_label), each a (K,) tensor.

        Returns:
            dict[str, float]: ``aAcc``, ``mIoU``, ... and per-class values.
        """
        metrics = super().compute_metrics(results)
        if self.format_only or not self.class_metrics:
            return metrics
        areas = [sum(column) for column in zip(*results)]
        per_class = self.total_area_to_metrics(*areas, self.metrics,
                                               self.nan_to_num, self.beta)
        class_names = self.dataset_meta['classes']
        out = OrderedDict(metrics)
        for name in self.class_metrics:
            values = np.asarray(per_class[name], dtype=np.float64) * 100
            for cls, value in zip(class_names, values):
                if np.isfinite(value):
                    out[f'{name}.{cls}'] = float(np.round(value, 2))
        return out
