from .mobilenetv2 import MobileNetV2Backbone, build_torchvision_mobilenetv2_backbone

# Backbones that read their ImageNet weights from an installed package when
# MODEL.BACKBONE.PRETRAIN_PATH is empty.
PACKAGED_PRETRAIN = ("build_torchvision_mobilenetv2_backbone",)
