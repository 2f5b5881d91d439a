"""`GRLHead`: GCE, TRL and the video representations GRL trains and tests with."""
from ctl_plugin.config import ConfigError

import torch
import torch.nn.functional as F
from fastreid.modeling.heads import REID_HEADS_REGISTRY
from torch import nn

from .attention_pooling import TemporalSelfAttentionPooling
from .correlation import GlobalGuidedCorrelation
from .reciprocal import TemporalReciprocalLearning
from .verification import PairVerification


@REID_HEADS_REGISTRY.register()
class GRLHead(nn.Module):
    """Frame feature maps [B, T, C, h, w] -> GRL's features.

    GCE splits every map into high- and low-correlation parts, TRL turns them into
    T enhanced frame features and one accumulated low-correlation feature; each
    passes a batch norm and L2 normalisation, and the frame features are pooled by
    temporal self-attention. Training returns all of them in a dict; test returns
    the official representation [B, 3C]: (low-correlation feature, attention-pooled
    feature, mean frame feature). The pair verification classifier lives here so
    that it trains at the heads' learning rate, as in the official code.
    """

    def __init__(self, cfg):
        super().__init__()
        if cfg.MODEL.META_ARCHITECTURE != "GRL":
            raise ConfigError(f"MODEL.HEADS.NAME 'GRLHead' takes the clips' feature maps [B, T, C, h, w] "
                             f"only under MODEL.META_ARCHITECTURE 'GRL', got "
                             f"{cfg.MODEL.META_ARCHITECTURE!r}")
        channels = cfg.MODEL.BACKBONE.FEAT_DIM
        reduction = cfg.GRL.CHANNEL_REDUCTION
        if channels < 8 or reduction < 1 or channels // reduction < 1:
            raise ValueError(f"GRLHead needs MODEL.BACKBONE.FEAT_DIM >= 8 and 1 <= GRL.CHANNEL_REDUCTION "
                             f"<= FEAT_DIM, got FEAT_DIM {channels}, CHANNEL_REDUCTION {reduction}")
        self.channels = channels
        self.correlation = GlobalGuidedCorrelation(channels)
        self.reciprocal = TemporalReciprocalLearning(channels, reduction)
        self.frame_bn = nn.BatchNorm1d(channels)
        self.low_bn = nn.BatchNorm1d(channels)
        self.attention_pool = TemporalSelfAttentionPooling(channels, cfg.GRL.ATTENTION_DIM)
        self.verification = PairVerification(channels)

    @property
    def feature_dim(self):
        """Width of every feature the head returns in training."""
        return self.channels

    def verify(self, probe, gallery):
        """Same-identity logits of paired video features [B, C], [B, C] -> [B]."""
        return self.verification(probe, gallery)

    def forward(self, fmaps, targets=None):
        if fmaps.dim() != 5 or fmaps.shape[2] != self.channels:
            raise ValueError(f"GRLHead expects feature maps [B, T, {self.channels}, h, w] "
                             f"(MODEL.BACKBONE.FEAT_DIM {self.channels}), got {tuple(fmaps.shape)}")
        high, low, corr = self.correlation(fmaps)
        frames, low_feature = self.reciprocal(high, low)
        frames = F.normalize(self.frame_bn(frames.flatten(0, 1)), dim=1).unflatten(0, frames.shape[:2])
        low_feature = F.normalize(self.low_bn(low_feature), dim=1)
        video = self.attention_pool(frames)
        if self.training:
            return {"frame_features": frames, "video_features": video,
                    "low_features": low_feature, "correlation": corr}
        return torch.cat((low_feature, video, frames.mean(dim=1)), dim=1)
