"""Score the teacher's pseudo-labels against held-back ground truth."""
import copy
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmengine.dataset import pseudo_collate
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch.utils.data import DataLoader

from mmseg.models.utils import resize
from mmseg.registry import DATASETS, HOOKS

from .mean_teacher_hook import MeanTeacherHook
from .teacher_mode import set_teacher_mode


def pseudo_label_scores(pseudo: torch.Tensor, confidence: torch.Tensor,
                        gt: torch.Tensor, num_classes: int,
                        threshold: float = 0.97,
                        ignore_index: int = 255) -> Dict[str, torch.Tensor]:
    """Confusion counts of pseudo-labels against the ground truth.

    Args:
        pseudo (Tensor): (N, H, W) long pseudo-labels.
        confidence (Tensor): (N, H, W) their maximum softmax probability.
        gt (Tensor): (N, H, W) long ground truth, ``ignore_index`` where
            unknown.
        num_classes (int): number of classes K.
        threshold (float): confidence counted as confident. Default: 0.97.
        ignore_index (int): ignored label. Default: 255.

    Returns:
        dict[str, Tensor]: ``confusion`` (K, K) counts (rows: ground truth,
        columns: pseudo-label) over valid pixels, ``confident`` and
        ``confident_correct`` (scalar counts), and per ground-truth class
        ``class_confident`` and ``class_confident_correct`` (K,).
    """
    valid = gt != ignore_index
    g, p = gt[valid], pseudo[valid]
    confusion = torch.bincount(
        g * num_classes + p, minlength=num_classes**2).view(
            num_classes, num_classes)
    sure = confidence[valid] >= threshold
    class_confident = torch.bincount(g[sure], minlength=num_classes)
    class_correct = torch.bincount(g[sure & (g == p)], minlength=num_classes)
    return dict(
        confusion=confusion,
        confident=class_confident.sum(),
        confident_correct=class_correct.sum(),
        class_confident=class_confident,
        class_confident_correct=class_correct)


def summarise_scores(confusion: torch.Tensor, confident: int,
                     confident_correct: int) -> Dict[str, float]:
    """Accuracy, mIoU and confidence figures of accumulated counts (%).

    Returns:
        dict[str, float]: ``acc`` (pixel accuracy), ``mIoU`` (over the
        classes present in the ground truth or the pseudo-labels),
        ``confident_share`` (pixels at or above the threshold),
        ``confident_acc`` (accuracy on those), ``dominant_true_share`` and
        ``dominant_pred_share`` (share of pixels whose ground truth is,
        and which are pseudo-labelled as, the most frequent class); of the
        pixels whose ground truth is another class (the objects, where the
        most frequent class is the background): ``nondominant_acc`` (their
        accuracy), ``nondominant_found`` (the share pseudo-labelled as any
        class but the most frequent one) and ``nondominant_class_acc`` (the
        accuracy of those found: the class named right).
    """
    confusion = confusion.double()
    total = confusion.sum().clamp(min=1)
    inter = confusion.diag()
    true, pred = confusion.sum(1), confusion.sum(0)
    union = true + pred - inter
    present = union > 0
    dominant = int(true.argmax())
    other = torch.ones_like(true, dtype=torch.bool)
    other[dominant] = False
    other_total = true[other].sum().clamp(min=1)
    other_correct = inter[other].sum()
    other_found = confusion[other][:, other].sum()
    return dict(
        acc=float(inter.sum() / total * 100),
        mIoU=float((inter[present] / union[present]).mean() * 100),
        confident_share=float(confident / total * 100),
        confident_acc=float(confident_correct / max(int(confident), 1) *
                            100),
        dominant_true_share=float(true[dominant] / total * 100),
        dominant_pred_share=float(pred[dominant] / total * 100),
        nondominant_acc=float(other_correct / other_total * 100),
        nondominant_found=float(other_found / other_total * 100),
        nondominant_class_acc=float(other_correct / other_found.clamp(min=1) *
                                    100))


def labelled_copy(dataset_type: str,
                  data_root: str,
                  ann_file: str,
                  img_path: str = 'img_dir/train',
                  seg_map_path: str = 'ann_dir/train') -> dict:
    """Config of unlabelled training images *with* their labels.

    The dataset :class:`PseudoLabelQualityHook` scores pseudo-labels on: the
    images of the unlabelled split file ``ann_file``, loaded with their
    annotations by a deterministic pipeline (load, load annotations, pack).

    Returns:
        dict: a dataset config.
    """
    return dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path=img_path, seg_map_path=seg_map_path),
        ann_file=ann_file,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')
        ])


@HOOKS.register_module()
class PseudoLabelQualityHook(Hook):
    """Log how good the teacher's pseudo-labels are, at every evaluation.

    The first thing to look at when semi-supervised training does not help:
    after each validation, the teacher labels ``dataset`` (unlabelled
    training images *with* their ground truth, which training never sees)
    exactly as it does in training, in batches of ``batch_size``, in the
    mode :class:`MeanTeacherHook` keeps it in (its normalisation layers in
    train or eval mode, dropout off), and the pseudo-labels are scored
    against the ground truth. The figures join the validation record
    (``vis_data/scalars.json`` and the log) as ``pseudo/acc``,
    ``pseudo/mIoU``, ``pseudo/confident_share`` (pixels with confidence >=
    ``threshold``, the share behind ReCo's eta), ``pseudo/confident_acc``,
    ``pseudo/dominant_true_share`` and ``pseudo/dominant_pred_share`` (a
    pseudo-label share far above the true share of the most frequent
    class is confirmation bias towards it); all in percent. The teacher's
    scores come from its ``encode_decode`` (the decode head's prediction
    path); the confidence is their softmax maximum, the pseudo-label
    confidence of a pixel-classification head.

    The teacher is copied first, so its running statistics, and every
    random generator, are left as they were: training continues exactly as
    without the hook.

    Args:
        dataset (dict): config of a labelled dataset of the unlabelled
            training images, with a deterministic pipeline (load image and
            annotations, pack), e.g. from :func:`labelled_copy`.
        batch_size (int): images per teacher pass; use the training batch's
            unlabelled count, since batch statistics depend on it.
            Default: 4.
        threshold (float): confidence counted as confident. Default: 0.97.
        num_images (int, optional): score only the first ``num_images``.
        ignore_index (int): ignored label. Default: 255.
    """

    priority = 'NORMAL'

    def __init__(self,
                 dataset: dict,
                 batch_size: int = 4,
                 threshold: float = 0.97,
                 num_images: Optional[int] = None,
                 ignore_index: int = 255) -> None:
        if batch_size < 1:
            raise ValueError(f'batch_size must be positive, got {batch_size}')
        self.dataset_cfg = dataset
        self.batch_size = batch_size
        self.threshold = threshold
        self.num_images = num_images
        self.ignore_index = ignore_index
        self._loader = None

    def _build_loader(self) -> DataLoader:
        dataset = DATASETS.build(copy.deepcopy(self.dataset_cfg))
        if self.num_images is not None:
            dataset = torch.utils.data.Subset(
                dataset, range(min(self.num_images, len(dataset))))
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=False,
            num_workers=0,
            collate_fn=pseudo_collate,
            # its own generator: the iterator's seed draw leaves the global
            # random state of training alone
            generator=torch.Generator().manual_seed(0))

    @staticmethod
    def _norm_train(runner) -> bool:
        for hook in runner.hooks:
            if isinstance(hook, MeanTeacherHook):
                return hook.teacher_mode == 'train'
        return True

    @property
    def loader(self) -> DataLoader:
        """The data loader of the scored images (built on first use)."""
        if self._loader is None:
            self._loader = self._build_loader()
        return self._loader

    @torch.no_grad()
    def count(self, model: nn.Module,
              net: nn.Module) -> Dict[str, torch.Tensor]:
        """:func:`pseudo_label_scores` of ``net`` summed over the dataset.

        Args:
            model (nn.Module): the segmentor whose data preprocessor and
                ``num_classes`` apply.
            net (nn.Module): the network that pseudo-labels, in the mode it
                should label in (left as it is).

        Returns:
            dict[str, Tensor]: the summed counts, on the CPU.
        """
        totals = None
        for data in self.loader:
            data = model.data_preprocessor(data, False)
            inputs, samples = data['inputs'], data['data_samples']
            pseudo, conf = self._label(net, inputs, samples)
            gt = torch.stack(
                [s.gt_sem_seg.data[0] for s in samples]).to(pseudo.device)
            counts = pseudo_label_scores(pseudo, conf, gt.long(),
                                         model.num_classes, self.threshold,
                                         self.ignore_index)
            totals = counts if totals is None else {
                k: totals[k] + v for k, v in counts.items()
            }
        return {k: v.cpu() for k, v in totals.items()}

    def score(self, model: nn.Module, norm_train: bool) -> Dict[str, float]:
        """Pseudo-label figures of ``model.teacher`` on the dataset."""
        teacher = copy.deepcopy(model.teacher)
        set_teacher_mode(teacher, norm_train=norm_train, dropout=False)
        totals = self.count(model, teacher)
        return summarise_scores(totals['confusion'],
                                int(totals['confident']),
                                int(totals['confident_correct']))

    @staticmethod
    def _label(teacher: nn.Module, inputs: torch.Tensor, samples: list):
        """Pseudo-labels and confidence (max softmax) of a batch."""
        logits = teacher.encode_decode(inputs, [s.metainfo for s in samples])
        logits = resize(
            logits.float(),
            size=inputs.shape[2:],
            mode='bilinear',
            align_corners=teacher.align_corners)
        conf, pseudo = torch.softmax(logits, dim=1).max(dim=1)
        return pseudo, conf

    def after_val_epoch(self, runner, metrics=None) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        scores = self.score(model, self._norm_train(runner))
        for key, value in scores.items():
            runner.message_hub.update_scalar(f'val/pseudo/{key}', value)
        runner.logger.info('pseudo-labels on the unlabelled images: ' +
                           ', '.join(f'{k} {v:.2f}'
                                     for k, v in scores.items()))
