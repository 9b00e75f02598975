"""Pre-train the demo backbone on Fashion-MNIST classification.

The papers start from ImageNet-pretrained backbones; nothing can be
downloaded here, so the demo gets the same footing from Fashion-MNIST: the
backbone of the benchmark's DeepLabV3+ (``configs/_base_/models/
deeplabv3plus_r18w32-d16_demo.py``: ResNetV1c, depth 18, half width; any
other model config with ``--config``) with global average
pooling and a linear classifier learns the 10 Fashion-MNIST classes.

Only the Fashion-MNIST *train* images are used (``tools/prepare_demo.py``
builds the validation canvases from the t10k images only), and a held-out
part of them (``--holdout``) gives the reported accuracy. Each training
image is one item placed on a canvas the way ``prepare_demo.py`` composes
its canvases (``compose_canvases``: 64x64 RGB, random scale, tint, position,
dark noisy background), drawn afresh every iteration, and flipped
horizontally at random. Images are normalised with the segmentor's data
preprocessor (mean/std, RGB).

As for ImageNet classification, the backbone runs without dilation (strides
1, 2, 2, 2); its weights have the same shapes as the dilated segmentation
backbone's, which loads them unchanged.

The checkpoint holds ``state_dict`` with the backbone under ``backbone.``
(and the classifier under ``head.``) and a ``meta`` dict. Load it with::

    model.backbone.init_cfg=dict(type='Pretrained', checkpoint=PATH,
                                 prefix='backbone.')

(``model.segmentor.backbone.init_cfg`` for a ``SemiSegmentor`` config), or
as ``load_from=PATH`` (the ``backbone.*`` keys match a segmentor). After
saving, the script builds the demo segmentor with that ``init_cfg`` and
checks that the weights arrive.

Example:
    python tools/pretrain_backbone.py                  # a few CPU minutes
    python tools/pretrain_backbone.py --iters 3000 --device cuda
"""
import argparse
import math
import os
import os.path as osp
import time
from typing import Dict, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config

from mmseg_reco.datasets.fashion_canvas_builder import (compose_canvases,
                                                        load_fashion_mnist)

from demo_support import PRETRAINED_CHECKPOINT
from demo_support import REPO_ROOT as REPO

#: Default model config whose backbone is pre-trained.
DEFAULT_CONFIG = osp.join(REPO, 'configs/_base_/models/'
                          'deeplabv3plus_r18w32-d16_demo.py')
#: Default checkpoint path (the demo and the accuracy benchmark look here).
DEFAULT_OUT = osp.join(REPO, PRETRAINED_CHECKPOINT)
#: Fashion-MNIST classes.
NUM_CLASSES = 10


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Pre-train the demo backbone on Fashion-MNIST')
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='model config whose backbone is trained')
    parser.add_argument('--out', default=DEFAULT_OUT, help='checkpoint path')
    parser.add_argument('--iters', type=int, default=1500,
                        help='training iterations. Default: 1500 (as long '
                        'as 600 iterations of the full-width ResNet-18)')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--optimizer', default='sgd',
                        choices=['sgd', 'adamw'],
                        help='SGD with Nesterov momentum, or AdamW')
    parser.add_argument('--lr', type=float, default=0.05,
                        help='peak learning rate (cosine decay)')
    parser.add_argument('--warmup-iters', type=int, default=50,
                        help='linear learning-rate warm-up')
    parser.add_argument('--momentum', type=float, default=0.9)
    parser.add_argument('--weight-decay', type=float, default=5e-4)
    parser.add_argument('--holdout', type=int, default=5000,
                        help='train images kept out of training to measure '
                        'the accuracy')
    parser.add_argument('--eval-images', type=int, default=2000,
                        help='held-out images evaluated at the end')
    parser.add_argument('--canvas-size', type=int, default=64)
    parser.add_argument('--scale-range', type=float, nargs=2,
                        default=(0.8, 1.6),
                        help='item rescale range (prepare_demo default)')
    parser.add_argument('--flip-prob', type=float, default=0.5)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--source', default=None,
                        help='folder of the Fashion-MNIST idx files '
                        '(default: prepare_demo.py default)')
    parser.add_argument('--log-interval', type=int, default=50)
    return parser.parse_args(argv)


class Classifier(nn.Module):
    """Backbone, global average pooling and a linear layer.

    Args:
        backbone (dict): mmseg backbone config.
        num_classes (int): classes. Default: 10.
    """

    def __init__(self, backbone: dict, num_classes: int = NUM_CLASSES):
        super().__init__()
        from mmseg.registry import MODELS
        self.backbone = MODELS.build(backbone)
        self.backbone.init_weights()
        self.backbone.eval()
        with torch.no_grad():
            channels = self.backbone(torch.zeros(1, 3, 32, 32))[-1].shape[1]
        self.backbone.train()
        self.head = nn.ModuleDict(dict(fc=nn.Linear(channels, num_classes)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) normalised images -> (N, num_classes) logits."""
        feat = self.backbone(x)[-1]
        return self.head['fc'](feat.mean(dim=(2, 3)))


def classification_backbone(cfg: Config) -> dict:
    """The config's backbone without dilation (strides 1, 2, 2, 2), last
    stage only, no initialisation from a file."""
    backbone = cfg.model.backbone.to_dict()
    num_stages = backbone.get('num_stages', 4)
    backbone.update(
        strides=(1, ) + (2, ) * (num_stages - 1),
        dilations=(1, ) * num_stages,
        out_indices=(num_stages - 1, ),
        init_cfg=None,
        pretrained=None)
    return backbone


class CanvasItems:
    """Batches of single Fashion-MNIST items composed like the canvases.

    Args:
        images (np.ndarray): (M, 28, 28) uint8 items.
        labels (np.ndarray): (M,) classes.
        compose (callable): the canvas composer
            (``fashion_canvas_builder.compose_canvases``).
        mean (Sequence[float]): RGB normalisation mean.
        std (Sequence[float]): RGB normalisation std.
        canvas_size (int): canvas side. Default: 64.
        scale_range (tuple[float, float]): item rescale range.
        flip_prob (float): horizontal flip probability. Default: 0.5.
    """

    def __init__(self, images, labels, compose, mean, std,
                 canvas_size=64, scale_range=(0.8, 1.6), flip_prob=0.5):
        self.images, self.labels = images, labels.astype(np.int64)
        self.compose = compose
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        self.canvas_size = canvas_size
        self.scale_range = tuple(scale_range)
        self.flip_prob = flip_prob

    def batch(self, index: np.ndarray, rng: np.random.Generator,
              flip: bool = True):
        """Images (N, 3, S, S) normalised float32 and labels (N,)."""
        out = self.compose(self.images[index][:, None],
                           self.labels[index][:, None], rng,
                           canvas_size=self.canvas_size,
                           scale_range=self.scale_range)
        img = torch.from_numpy(out['img']).permute(0, 3, 1, 2).float()
        if flip and self.flip_prob > 0:
            flipped = torch.from_numpy(
                rng.random(len(index)) < self.flip_prob)
            img = torch.where(flipped[:, None, None, None], img.flip(3), img)
        img = (img - self.mean) / self.std
        return img, torch.from_numpy(self.labels[index])


def lr_at(step: int, iters: int, lr: float, warmup: int) -> float:
    """Linear warm-up then cosine decay to 0."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, iters - warmup)
    return 0.5 * lr * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def evaluate(model: nn.Module, data: CanvasItems, index: np.ndarray,
             seed: int, device: str, batch_size: int) -> float:
    """Top-1 accuracy (percent) on fixed canvases of the given items."""
    model.eval()
    rng = np.random.default_rng(seed)
    correct = 0
    for start in range(0, len(index), batch_size):
        img, label = data.batch(index[start:start + batch_size], rng,
                                flip=False)
        pred = model(img.to(device)).argmax(1).cpu()
        correct += int((pred == label).sum())
    model.train()
    return 100.0 * correct / max(1, len(index))


def verify_loading(config: str, checkpoint: str,
                   state: Dict[str, torch.Tensor]) -> None:
    """Build the segmentor with ``init_cfg`` pointing at the checkpoint and
    check that every backbone tensor arrived."""
    from mmengine.registry import init_default_scope

    from mmseg.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    cfg.model.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=checkpoint, prefix='backbone.')
    model = MODELS.build(cfg.model)
    model.init_weights()
    loaded = model.backbone.state_dict()
    for key, value in state.items():
        if not key.startswith('backbone.'):
            continue
        name = key[len('backbone.'):]
        if name not in loaded or not torch.equal(loaded[name].cpu(),
                                                 value.cpu()):
            raise RuntimeError(f'{key} did not load into the segmentor')


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    from mmengine.logging import MMLogger

    # mmengine's per-parameter initialisation report is long: warnings only
    MMLogger.get_instance(
        f'pretrain_backbone_{time.time_ns()}', log_level='WARNING')
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    kwargs = {} if args.source is None else dict(source=args.source)
    images, labels = load_fashion_mnist(**kwargs)['train']
    order = np.random.default_rng(args.seed).permutation(len(images))
    holdout, train = order[:args.holdout], order[args.holdout:]
    cfg = Config.fromfile(args.config)
    pre = cfg.model.data_preprocessor
    data = CanvasItems(images, labels, compose_canvases, pre.mean,
                       pre.std, args.canvas_size, args.scale_range,
                       args.flip_prob)
    model = Classifier(classification_backbone(cfg)).to(args.device)
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (no_decay if param.ndim <= 1 else decay).append(param)
    groups = [dict(params=decay, weight_decay=args.weight_decay),
              dict(params=no_decay, weight_decay=0.0)]
    if args.optimizer == 'sgd':
        optimizer = torch.optim.SGD(groups, lr=args.lr,
                                    momentum=args.momentum, nesterov=True)
    else:
        optimizer = torch.optim.AdamW(groups, lr=args.lr)
    model.train()
    start = time.time()
    seen_loss, seen_correct, seen = 0.0, 0, 0
    for step in range(args.iters):
        for group in optimizer.param_groups:
            group['lr'] = lr_at(step, args.iters, args.lr, args.warmup_iters)
        index = train[rng.integers(0, len(train), args.batch_size)]
        img, label = data.batch(index, rng)
        img, label = img.to(args.device), label.to(args.device)
        logits = model(img)
        loss = F.cross_entropy(logits, label)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seen_loss += float(loss.detach()) * len(label)
        seen_correct += int((logits.argmax(1) == label).sum())
        seen += len(label)
        if (step + 1) % args.log_interval == 0 or step + 1 == args.iters:
            elapsed = time.time() - start
            print(f'iter {step + 1}/{args.iters}  loss '
                  f'{seen_loss / seen:.3f}  train acc '
                  f'{100 * seen_correct / seen:.1f}%  '
                  f'{elapsed / (step + 1):.3f} s/iter', flush=True)
            seen_loss, seen_correct, seen = 0.0, 0, 0
    train_time = time.time() - start
    eval_index = holdout[:args.eval_images]
    accuracy = evaluate(model, data, eval_index, args.seed + 1, args.device,
                        args.batch_size)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    meta = dict(
        description='demo backbone pre-trained on Fashion-MNIST train '
        'images (tools/pretrain_backbone.py)',
        config=osp.relpath(osp.abspath(args.config), REPO),
        iters=args.iters,
        batch_size=args.batch_size,
        seed=args.seed,
        holdout_images=int(len(eval_index)),
        holdout_top1=round(accuracy, 2),
        train_seconds=round(train_time, 1))
    if osp.dirname(args.out):
        os.makedirs(osp.dirname(args.out), exist_ok=True)
    torch.save(dict(state_dict=state, meta=meta), args.out)
    verify_loading(args.config, args.out, state)
    print(f'held-out top-1 {accuracy:.2f}% on {len(eval_index)} train-set '
          f'images not trained on; {train_time:.0f} s training')
    print(f'wrote {args.out} (verified: loads through '
          "init_cfg=dict(type='Pretrained', prefix='backbone.'))")
    return meta


if __name__ == '__main__':
    main()
