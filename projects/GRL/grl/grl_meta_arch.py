"""`GRL`: the video meta-architecture of Global-guided Reciprocal Learning."""
from ctl_plugin.modeling.meta_arch import VideoBaseline

import torch
from fastreid.config import configurable
from fastreid.modeling.losses import log_accuracy, triplet_loss
from fastreid.modeling.meta_arch import META_ARCH_REGISTRY

from .oim_loss import OIMLoss
from .verification import verification_loss


@META_ARCH_REGISTRY.register()
class GRL(VideoBaseline):
    """Backbone on every frame, then `GRLHead` (MODEL.HEADS.NAME "GRLHead").

    Losses of the official trainer: OIM on the high-correlation frame features and on
    their attention-pooled video feature (one shared table), OIM on the
    low-correlation video feature (its own table; both tables move once all logits
    are taken, video features before frame features), pair verification and a soft-margin
    batch-hard triplet on the pooled high-correlation feature. Tracklets 2i and 2i+1
    of a batch form the probe and gallery halves of the verification.
    """

    @configurable
    def __init__(self, *, num_classes, oim_scale, oim_momentum, loss_weights, triplet_margin, **kwargs):
        super().__init__(**kwargs)
        self.oim_high = OIMLoss(self.heads.feature_dim, num_classes, oim_scale, oim_momentum)
        self.oim_low = OIMLoss(self.heads.feature_dim, num_classes, oim_scale, oim_momentum)
        self.loss_weights = loss_weights
        self.triplet_margin = triplet_margin

    @classmethod
    def from_config(cls, cfg):
        if cfg.MODEL.HEADS.NAME != "GRLHead":
            raise ValueError(f"META_ARCHITECTURE GRL needs MODEL.HEADS.NAME 'GRLHead', "
                             f"got {cfg.MODEL.HEADS.NAME!r}")
        args = super().from_config(cfg)
        loss = cfg.GRL.LOSS
        args.update(
            num_classes=cfg.MODEL.HEADS.NUM_CLASSES,
            oim_scale=cfg.GRL.OIM.SCALE,
            oim_momentum=cfg.GRL.OIM.MOMENTUM,
            loss_weights={"frame_oim": loss.FRAME_OIM, "video_oim": loss.VIDEO_OIM, "low_oim": loss.LOW_OIM,
                          "verification": loss.VERIFICATION, "triplet": loss.TRIPLET},
            triplet_margin=loss.TRIPLET_MARGIN,
        )
        return args

    def video_head(self, fmaps, batched_inputs, targets=None):
        return self.heads(fmaps, targets)

    def losses(self, outputs, targets):
        frames, video = outputs["frame_features"], outputs["video_features"]
        if len(targets) % 2:
            raise ValueError(f"GRL's verification loss pairs tracklets 2i and 2i+1 of a batch; "
                             f"SOLVER.IMS_PER_BATCH must be even, got a batch of {len(targets)}")
        weight = self.loss_weights
        frame_targets = targets.repeat_interleave(frames.shape[1])
        frame_oim, _ = self.oim_high(frames.flatten(0, 1), frame_targets)
        video_oim, video_logits = self.oim_high(video, targets)
        low_oim, _ = self.oim_low(outputs["low_features"], targets)
        self.oim_high.update(torch.cat((video, frames.flatten(0, 1))), torch.cat((targets, frame_targets)))
        self.oim_low.update(outputs["low_features"], targets)
        log_accuracy(video_logits.detach(), targets)
        pair_logits = self.heads.verify(video[0::2], video[1::2])
        return {
            "loss_frame_oim": frame_oim * weight["frame_oim"],
            "loss_video_oim": video_oim * weight["video_oim"],
            "loss_low_oim": low_oim * weight["low_oim"],
            "loss_verification": verification_loss(pair_logits, targets[0::2], targets[1::2])
            * weight["verification"],
            "loss_triplet": triplet_loss(video, targets, self.triplet_margin, False, True) * weight["triplet"],
        }
