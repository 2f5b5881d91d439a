"""CTL's backbone (Sec. 4.1): fast-reid's ResNet with last stride 1.

A 256 x 128 input then gives 16 x 8 feature maps (2048 channels at depth 50x).
The key-point source is not part of the backbone (see modeling/keypoint_source.py),
so CTL's heads also run on any other fast-reid backbone.
"""
from fastreid.modeling.backbones import BACKBONE_REGISTRY
from fastreid.modeling.backbones.resnet import build_resnet_backbone

from ...config import ConfigError


@BACKBONE_REGISTRY.register()
def build_ctl_resnet_backbone(cfg):
    """fast-reid's ResNet (MODEL.BACKBONE.DEPTH, WITH_IBN, ...) checked to have last stride 1."""
    if cfg.MODEL.BACKBONE.LAST_STRIDE != 1:
        raise ConfigError(f"MODEL.BACKBONE.LAST_STRIDE: CTL's backbone uses last stride 1 "
                         f"(16 x 8 maps at 256 x 128), got {cfg.MODEL.BACKBONE.LAST_STRIDE}")
    return build_resnet_backbone(cfg)
