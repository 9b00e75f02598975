"""PseudoLabelQualityHook: scores of the teacher's pseudo-labels."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmseg_reco.engine.hooks.pseudo_label_quality_hook import (
    labelled_copy, pseudo_label_scores, summarise_scores)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = osp.join(REPO, 'data/fashion_canvas')
CLASSMIX = ('configs/baselines/'
            'classmix_deeplabv3plus-r18-d8_1xb4-1k_fashion-canvas-60lab.py')


def test_scores_of_hand_made_pseudo_labels():
    gt = torch.tensor([[[0, 0, 0, 1], [1, 2, 2, 255]]])
    pseudo = torch.tensor([[[0, 0, 0, 0], [1, 2, 0, 1]]])
    conf = torch.tensor([[[0.99, 0.99, 0.5, 0.99], [0.98, 0.2, 0.99, 0.99]]])
    counts = pseudo_label_scores(pseudo, conf, gt, num_classes=3)
    assert counts['confusion'].tolist() == [[3, 0, 0], [1, 1, 0], [1, 0, 1]]
    # confident valid pixels: (0,0) (0,1) (0,3) (1,0) (1,2): 3 correct
    assert int(counts['confident']) == 5
    assert int(counts['confident_correct']) == 3
    assert counts['class_confident'].tolist() == [2, 2, 1]
    assert counts['class_confident_correct'].tolist() == [2, 1, 0]
    scores = summarise_scores(counts['confusion'], 5, 3)
    assert scores['acc'] == pytest.approx(500 / 7)
    # IoU: class 0: 3 / (3 + 5 - 3); class 1: 1 / 2; class 2: 1 / 2
    assert scores['mIoU'] == pytest.approx(100 * (3 / 5 + 0.5 + 0.5) / 3)
    assert scores['confident_share'] == pytest.approx(500 / 7)
    assert scores['confident_acc'] == pytest.approx(60.0)
    assert scores['dominant_true_share'] == pytest.approx(300 / 7)
    assert scores['dominant_pred_share'] == pytest.approx(500 / 7)
    # classes 1 and 2 (4 pixels): 2 right, 2 labelled as class 0
    assert scores['nondominant_acc'] == pytest.approx(50.0)
    assert scores['nondominant_found'] == pytest.approx(50.0)
    assert scores['nondominant_class_acc'] == pytest.approx(100.0)


def test_nondominant_scores_separate_finding_from_naming():
    # rows: ground truth, columns: pseudo-label; class 0 is the most frequent
    confusion = torch.tensor([[6, 1, 0], [1, 2, 1], [1, 1, 3]])
    scores = summarise_scores(confusion, 0, 0)
    # classes 1 and 2: 9 pixels, 5 right, 7 labelled as class 1 or 2
    assert scores['nondominant_acc'] == pytest.approx(500 / 9)
    assert scores['nondominant_found'] == pytest.approx(700 / 9)
    assert scores['nondominant_class_acc'] == pytest.approx(500 / 7)


@pytest.fixture
def demo_data():
    if not osp.isfile(osp.join(DATA, 'splits', 'unlabelled-60.txt')):
        pytest.fail('demo data missing: run bash tools/setup_env.sh')
    return DATA


def test_hook_logs_scores_and_leaves_the_teacher_alone(demo_data, tmp_path):
    cfg = Config.fromfile(osp.join(REPO, CLASSMIX))
    cfg.work_dir = str(tmp_path)
    loader = cfg.train_dataloader
    loader.num_workers = 0
    loader.persistent_workers = False
    for sub in loader.dataset.datasets:
        sub.data_root = demo_data
    cfg.train_cfg.max_iters = 2
    cfg.train_cfg.val_interval = 2
    cfg.val_dataloader.num_workers = 0
    cfg.val_dataloader.persistent_workers = False
    cfg.val_dataloader.dataset.data_root = demo_data
    cfg.val_dataloader.dataset.indices = 4
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1)
    cfg.log_level = 'WARNING'
    cfg.custom_hooks.append(
        dict(
            type='PseudoLabelQualityHook',
            dataset=labelled_copy('FashionCanvasDataset', demo_data,
                                  'splits/unlabelled-60.txt'),
            batch_size=4,
            num_images=8))
    runner = Runner.from_cfg(cfg)
    hook = [h for h in runner.hooks
            if type(h).__name__ == 'PseudoLabelQualityHook'][0]
    runner.train()
    logs = runner.message_hub.log_scalars
    for key in ('acc', 'mIoU', 'confident_share', 'confident_acc'):
        value = logs[f'val/pseudo/{key}'].current()
        assert 0 <= value <= 100, key
    teacher = runner.model.teacher
    state = {k: v.clone() for k, v in teacher.state_dict().items()}
    rng = torch.get_rng_state()
    scores = hook.score(runner.model, norm_train=True)
    # scoring changes neither the teacher (running statistics) nor the RNG
    for key, value in teacher.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert torch.equal(torch.get_rng_state(), rng)
    # and it is deterministic
    assert hook.score(runner.model, norm_train=True) == scores


def test_demo_weak_view_is_not_rescaled(demo_data):
    """The unlabelled weak view is the canvas as it is; the zoom of the
    strong view comes from the dataset base, once."""
    cfg = Config.fromfile(osp.join(REPO, CLASSMIX))
    unlabelled = cfg.train_dataloader.dataset.datasets[1]
    assert not any(t['type'] in ('RandomResize', 'Resize', 'RandomFlip')
                   for t in unlabelled.pipeline)
    assert cfg.model.strong_aug.scale_range == (1.0, 1.5)
    from mmseg.registry import DATASETS
    unlabelled.data_root = demo_data
    dataset = DATASETS.build(unlabelled)
    import mmcv
    for index in range(3):
        item = dataset[index]
        raw = mmcv.imread(item['data_samples'].img_path)
        assert torch.equal(item['inputs'],
                           torch.from_numpy(raw).permute(2, 0, 1))
