from .ctl_resnet import build_ctl_resnet_backbone  # noqa: F401  (registers into BACKBONE_REGISTRY)
