"""Config node of STMN (Eom et al., ICCV 2021): `add_stmn_config(cfg)`.

Defaults are those of the official code's `train.sh`.
"""
from ctl_plugin.config import register_config

from fastreid.config import CfgNode as CN


@register_config
def add_stmn_config(cfg):
    """Add the STMN node: the two memories and the weights of their spread losses."""
    _C = cfg
    _C.STMN = CN()
    # ReLU between the stem's batch norm and its max-pool, as in fast-reid's (and
    # torchvision's) ResNet. The official code's ResNet has none (conv1 - bn1 - max-pool):
    # False reproduces it.
    _C.STMN.STEM_RELU = True
    # Spatial memory (Sec. 3.2): SIZE items, each a key and a value of
    # MODEL.BACKBONE.FEAT_DIM channels, read at every feature-map position.
    _C.STMN.SPATIAL_MEMORY = CN()
    _C.STMN.SPATIAL_MEMORY.SIZE = 10
    # Margin of its memory spread loss (Eq. 8): every item must be addressed with
    # a probability at least MARGIN higher by some query than by another.
    _C.STMN.SPATIAL_MEMORY.MARGIN = 0.3
    # Weight of that loss in the total loss (Eq. 11).
    _C.STMN.SPATIAL_MEMORY.SPREAD_WEIGHT = 1.0
    # Temporal memory (Sec. 3.3): SIZE items, each a key of FEAT_DIM channels
    # and a value of VIDEO.TRAIN.SEQ_LEN frame-attention logits.
    _C.STMN.TEMPORAL_MEMORY = CN()
    _C.STMN.TEMPORAL_MEMORY.SIZE = 5
    # Margin of its memory spread loss (Eq. 8).
    _C.STMN.TEMPORAL_MEMORY.MARGIN = 0.3
    # Weight of that loss in the total loss (Eq. 11).
    _C.STMN.TEMPORAL_MEMORY.SPREAD_WEIGHT = 1.0
    return cfg
