"""PerClassIoUMetric: IoUMetric's summary plus IoU.<class> keys."""
import pytest
import torch
from mmengine.structures import PixelData

from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample

from mmseg_reco.evaluation import PerClassIoUMetric

META = dict(classes=('background', 'T-shirt/top', 'never seen'))


def samples():
    gt = torch.tensor([[[0, 0, 1, 1], [0, 0, 1, 1]]])
    pred = torch.tensor([[[0, 1, 1, 1], [0, 0, 1, 255]]])
    out = []
    for _ in range(2):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=gt)
        sample.pred_sem_seg = PixelData(data=pred)
        out.append(sample.to_dict())
    return out


def evaluate(metric):
    metric.dataset_meta = META
    metric.process([], samples())
    return metric.compute_metrics(metric.results)


def test_summary_unchanged_and_per_class_keys():
    metrics = evaluate(METRICS.build(dict(type='PerClassIoUMetric')))
    reference = evaluate(IoUMetric())
    for key, value in reference.items():
        assert metrics[key] == value
    # background: 3 of the 4 gt pixels predicted, 3 predicted -> 3 / 4
    assert metrics['IoU.background'] == 75.0
    # class 1: 3 of its 4 gt pixels found (one predicted 255), one
    # background pixel taken -> 3 / 5
    assert metrics['IoU.T-shirt/top'] == 60.0
    # no gt and no prediction: undefined, so no key (NaN is not JSON)
    assert 'IoU.never seen' not in metrics
    assert metrics['mIoU'] == pytest.approx((75.0 + 60.0) / 2, abs=0.01)


def test_per_class_accuracy_on_request():
    metric = PerClassIoUMetric(class_metrics=('IoU', 'Acc'))
    metrics = evaluate(metric)
    assert metrics['Acc.background'] == 75.0
    assert metrics['Acc.T-shirt/top'] == 75.0


def test_unknown_class_metric():
    with pytest.raises(ValueError, match='not computed'):
        PerClassIoUMetric(class_metrics=('Dice', ))
    PerClassIoUMetric(iou_metrics=['mIoU', 'mDice'], class_metrics=('Dice', ))
