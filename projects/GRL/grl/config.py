"""`add_grl_config(cfg)`: the GRL node (model sizes and the losses of the official code).

Clip settings are not here: every project's node lives in one cfg, so GRL's
8-frame clips are set in its YAML files (VIDEO.TRAIN.SEQ_LEN, VIDEO.TEST.SEQ_LEN).
"""
from ctl_plugin.config import register_config

from fastreid.config import CfgNode as CN


@register_config
def add_grl_config(cfg):
    """GRL: Global-guided Reciprocal Learning (Liu et al., CVPR 2021)."""
    _C = cfg
    _C.GRL = CN()
    # Width of the query and key projections of the temporal self-attention that
    # pools the high-correlation frame features into one video feature (official: 512).
    _C.GRL.ATTENTION_DIM = 512
    # Reduction ratio of the channel attention inside each TRL step (official: 16).
    _C.GRL.CHANNEL_REDUCTION = 16

    # OIM loss (Xiao et al., CVPR 2017): cosine logits against a look-up table of
    # per-identity features, updated by moving average instead of gradients.
    _C.GRL.OIM = CN()
    # Logit scale (the official code's --oim-scalar).
    _C.GRL.OIM.SCALE = 30.0
    # Look-up table update: lut[y] <- normalise(MOMENTUM * lut[y] + (1 - MOMENTUM) * x).
    _C.GRL.OIM.MOMENTUM = 0.5

    # Weights of the five training losses (official trainer: 1, 1, 1, 20, 1).
    _C.GRL.LOSS = CN()
    # OIM on every high-correlation frame feature of the TRL.
    _C.GRL.LOSS.FRAME_OIM = 1.0
    # OIM on the attention-pooled high-correlation video feature (same table as FRAME_OIM).
    _C.GRL.LOSS.VIDEO_OIM = 1.0
    # OIM on the accumulated low-correlation video feature (a table of its own).
    _C.GRL.LOSS.LOW_OIM = 1.0
    # Pair verification (same identity or not) of the pooled high-correlation
    # features of the even-indexed against the odd-indexed tracklets of the batch.
    _C.GRL.LOSS.VERIFICATION = 20.0
    # Batch-hard triplet loss (fast-reid's) on the pooled high-correlation feature.
    _C.GRL.LOSS.TRIPLET = 1.0
    # Its margin; 0 selects the soft margin log(1 + exp(d_ap - d_an)) of the official code.
    _C.GRL.LOSS.TRIPLET_MARGIN = 0.0
    return cfg
