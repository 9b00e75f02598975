"""A semi-supervised config and checkpoint through mmseg's own APIs.

``mmseg.apis.init_model``, ``inference_model``, ``MMSegInferencer`` and a
``Runner`` test (mmseg's ``tools/test.py``) predict with the teacher or the
student (``semi_test_cfg.predict_on``), in whole or slide mode (``test_cfg``).
"""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmseg.apis import MMSegInferencer, inference_model, init_model
from mmseg.evaluation import IoUMetric
from mmseg.structures import SegDataSample
from mmseg_reco.datasets.fashion_canvas import FashionCanvasDataset

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CONFIG = osp.join(
    REPO, 'configs/reco/'
    'reco-classmix_deeplabv3plus-r18-d8-rep_1xb4-1k_fashion-canvas-60lab.py')
DEMO_DATA = osp.join(REPO, 'data', 'fashion_canvas')
SLIDE = dict(mode='slide', crop_size=(32, 32), stride=(24, 24))


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """A checkpoint whose teacher and student differ."""
    torch.manual_seed(0)
    model = init_model(CONFIG, None, device='cpu')
    with torch.no_grad():
        for param in model.teacher.parameters():
            param.add_(0.05 * torch.randn_like(param))
    path = str(tmp_path_factory.mktemp('ckpt') / 'semi.pth')
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(FashionCanvasDataset.METAINFO))),
        path)
    return path


@pytest.fixture(scope='module')
def image():
    return np.random.RandomState(0).randint(0, 256, (64, 64, 3), np.uint8)


def direct_inputs(model, image):
    """The image through the model's data preprocessor, without mmseg's
    inference pipeline."""
    sample = SegDataSample(metainfo=dict(img_shape=(64, 64),
                                         ori_shape=(64, 64)))
    data = dict(inputs=[torch.from_numpy(image).permute(2, 0, 1).clone()],
                data_samples=[sample])
    return model.data_preprocessor(data, False)


@torch.no_grad()
def direct_logits(segmentor, data):
    """(K, H, W) logits of ``segmentor.predict`` on preprocessed data."""
    return segmentor.predict(**data)[0].seg_logits.data


@pytest.mark.parametrize('predict_on', ['teacher', 'student'])
def test_inference_model_predicts_with_the_configured_network(
        checkpoint, image, predict_on):
    model = init_model(
        CONFIG, checkpoint, device='cpu',
        cfg_options={'model.semi_test_cfg.predict_on': predict_on})
    assert model.dataset_meta['classes'] == \
        FashionCanvasDataset.METAINFO['classes']
    result = inference_model(model, image)
    data = direct_inputs(model, image)
    other = 'student' if predict_on == 'teacher' else 'teacher'
    expected = direct_logits(getattr(model, predict_on), data)
    assert torch.equal(result.seg_logits.data, expected)
    assert torch.equal(result.pred_sem_seg.data[0], expected.argmax(0))
    assert not torch.equal(result.seg_logits.data,
                           direct_logits(getattr(model, other), data))


def test_slide_test_cfg_reaches_teacher_and_student(checkpoint, image):
    model = init_model(
        CONFIG, checkpoint, device='cpu',
        cfg_options={'model.test_cfg': SLIDE})
    assert model.teacher.test_cfg == SLIDE
    assert model.student.test_cfg == SLIDE
    assert model.test_cfg == SLIDE
    result = inference_model(model, image)
    data = direct_inputs(model, image)
    metas = [s.metainfo for s in data['data_samples']]
    with torch.no_grad():
        slide = model.teacher.slide_inference(data['inputs'], metas)[0]
        whole = model.teacher.whole_inference(data['inputs'], metas)[0]
    assert torch.equal(result.seg_logits.data, slide)
    # the crops see less context than the whole image: the logits differ
    assert not torch.equal(slide, whole)


def test_setting_test_cfg_sets_both_networks(checkpoint):
    model = init_model(CONFIG, checkpoint, device='cpu')
    assert model.test_cfg == dict(mode='whole')
    model.test_cfg = SLIDE
    assert model.teacher.test_cfg == SLIDE
    assert model.student.test_cfg == SLIDE


def test_mmseg_inferencer_predicts_with_the_teacher(checkpoint, image):
    inferencer = MMSegInferencer(CONFIG, checkpoint, device='cpu')
    result = inferencer(image, return_datasamples=True)
    data = direct_inputs(inferencer.model, image)
    expected = direct_logits(inferencer.model.teacher, data)
    assert torch.equal(result.pred_sem_seg.data[0], expected.argmax(0))


@pytest.mark.needs_data(
    osp.join(DEMO_DATA, 'splits', 'val.txt'),
    reason='demo data missing: python tools/prepare_demo.py')
def test_runner_test_scores_the_teacher_predictions(checkpoint, tmp_path):
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path)
    cfg.load_from = checkpoint
    cfg.log_level = 'WARNING'
    loader = cfg.test_dataloader
    loader.num_workers = 0
    loader.persistent_workers = False
    loader.dataset.data_root = DEMO_DATA
    loader.dataset.indices = 4
    cfg.test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()

    # the same four images, predicted by the checkpoint's teacher directly
    model = init_model(CONFIG, checkpoint, device='cpu')
    metric = IoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dict(FashionCanvasDataset.METAINFO)
    dataset = runner.test_dataloader.dataset
    for index in range(len(dataset)):
        item = dataset[index]
        data = model.data_preprocessor(
            dict(inputs=[item['inputs']],
                 data_samples=[item['data_samples']]), False)
        with torch.no_grad():
            samples = model.teacher.predict(**data)
        metric.process({}, [s.to_dict() for s in samples])
    expected = metric.compute_metrics(metric.results)
    assert metrics['mIoU'] == pytest.approx(expected['mIoU'])
