"""`STMN`: Spatial and Temporal Memory Networks (Eom et al., ICCV 2021) as a fast-reid meta-architecture."""
from ctl_plugin.modeling.meta_arch import VideoBaseline

import torch
from fastreid.config import configurable
from fastreid.modeling.heads import build_heads
from fastreid.modeling.meta_arch import META_ARCH_REGISTRY

from .branched_backbone import BranchedBackbone
from .spatial_memory import SpatialMemory
from .spread_loss import memory_spread_loss
from .temporal_memory import TemporalMemory

# Pooling layers of fast-reid that leave a [N, C, 1, 1] map unchanged: the heads
# receive features STMN has already pooled (Eq. 3 and Eq. 7).
POOLS_KEEPING_1X1 = ("Identity", "GlobalAvgPool", "GlobalMaxPool", "FastGlobalAvgPool")


@META_ARCH_REGISTRY.register()
class STMN(VideoBaseline):
    """Frames -> branched backbone -> spatial memory (refined frame features) ->
    temporal memory (sequence feature).

    Two fast-reid heads (`MODEL.HEADS`, each BN-neck + classifier): `frame_head` on
    the refined frame features, whose logits and features are averaged over the
    clip for the losses, and `heads` on the sequence feature, whose BN-neck output
    is the test feature. Losses (Eq. 11): fast-reid's `MODEL.LOSSES` on both
    branches plus the memory spread loss (Eq. 8) of each memory.
    """

    @configurable
    def __init__(self, *, frame_head, spatial_memory, temporal_memory, spread, **kwargs):
        super().__init__(**kwargs)
        self.frame_head = frame_head
        self.spatial_memory = spatial_memory
        self.temporal_memory = temporal_memory
        self.spread = spread

    @classmethod
    def from_config(cls, cfg):
        seq_len = cfg.VIDEO.TRAIN.SEQ_LEN
        if cfg.VIDEO.TEST.SEQ_LEN != seq_len:
            raise ValueError(f"STMN's temporal memory stores attentions over VIDEO.TRAIN.SEQ_LEN = {seq_len} "
                             f"frames: VIDEO.TEST.SEQ_LEN must equal it, got {cfg.VIDEO.TEST.SEQ_LEN}")
        if cfg.MODEL.HEADS.POOL_LAYER not in POOLS_KEEPING_1X1:
            raise ValueError(f"STMN pools features itself: MODEL.HEADS.POOL_LAYER must be one of "
                             f"{POOLS_KEEPING_1X1}, got {cfg.MODEL.HEADS.POOL_LAYER!r}")
        kwargs = super().from_config(cfg)  # MODEL.BACKBONE.FEAT_DIM checked against the backbone
        backbone = BranchedBackbone(kwargs["backbone"], cfg.STMN.STEM_RELU)
        feat_dim = cfg.MODEL.BACKBONE.FEAT_DIM
        smem, tmem = cfg.STMN.SPATIAL_MEMORY, cfg.STMN.TEMPORAL_MEMORY
        kwargs.update(
            backbone=backbone,
            frame_head=build_heads(cfg),
            spatial_memory=SpatialMemory(feat_dim, smem.SIZE),
            temporal_memory=TemporalMemory(feat_dim, tmem.SIZE, seq_len),
            spread={"spatial": (smem.MARGIN, smem.SPREAD_WEIGHT), "temporal": (tmem.MARGIN, tmem.SPREAD_WEIGHT)},
        )
        return kwargs

    def frame_features(self, clips):
        """[B, T, 3, H, W] -> (values, spatial keys, temporal keys), each [B, T, C, h, w]."""
        b, t = clips.shape[:2]
        return tuple(m.unflatten(0, (b, t)) for m in self.backbone(clips.flatten(0, 1)))

    def read_memories(self, fmaps):
        """Both memories on a batch of clips: (spatial memory output, temporal memory output)."""
        values, spatial_keys, temporal_keys = fmaps
        b, t = values.shape[:2]
        spatial = self.spatial_memory(spatial_keys.flatten(0, 1), values.flatten(0, 1))
        temporal = self.temporal_memory(temporal_keys.mean(dim=(3, 4)), spatial["features"].unflatten(0, (b, t)))
        return spatial, temporal

    def video_head(self, fmaps, batched_inputs, targets=None):
        spatial, temporal = self.read_memories(fmaps)
        sequence = temporal["features"][..., None, None]
        if not self.training:
            return self.heads(sequence)
        t = fmaps[0].shape[1]
        frames = self.frame_head(spatial["features"][..., None, None], targets.repeat_interleave(t))
        return {
            "spatial": {name: value.unflatten(0, (-1, t)).mean(1) for name, value in frames.items()},
            "temporal": self.heads(sequence, targets),
            "spatial_addressing": spatial["addressing"],
            "temporal_addressing": temporal["addressing"],
        }

    def losses(self, outputs, gt_labels):
        """fast-reid's losses on both branches, suffixed by branch, plus the spread losses (Eq. 11)."""
        loss_dict = {}
        for branch in ("spatial", "temporal"):
            for name, value in super().losses(outputs[branch], gt_labels).items():
                loss_dict[f"{name}_{branch}"] = value
            margin, weight = self.spread[branch]
            loss_dict[f"loss_spread_{branch}"] = weight * memory_spread_loss(outputs[f"{branch}_addressing"], margin)
        return loss_dict

    @torch.no_grad()
    def addressing(self, batched_inputs):
        """What each frame reads, for visualisation. Put the model in eval mode first.

        Returns spatial [B, T, h, w, M] (Eq. 1 at every position of every frame),
        temporal [B, N] (Eq. 5) and attention [B, T] (Eq. 6).
        """
        clips = self.preprocess_image(batched_inputs)
        fmaps = self.frame_features(clips)
        spatial, temporal = self.read_memories(fmaps)
        b, t = clips.shape[:2]
        return {"spatial": spatial["addressing"].unflatten(0, (b, t)),
                "temporal": temporal["addressing"], "attention": temporal["attention"]}
