"""`VideoBaseline`: the plain video re-ID model, and the tensor contract every
video meta-architecture of the plugin shares.

Batches arrive as fast-reid dicts:
    images     float [B, T, 3, H, W], pixel values 0-255, not normalised
    targets    long  [B]              (training)
    camids     long  [B]
    keypoints  float [B, T, 17, 3]    (x, y in input pixels, confidence; when cached)
    num_clips  long  [B]              (test only: `images` then holds the
                                       sum(num_clips) clips of B tracklets, in order)
In training `forward` returns fast-reid's loss dict; at test it returns one
feature per tracklet (the mean of its clip features), so fast-reid's
`ReidEvaluator`, re-ranking and AQE work unchanged. At test the clips go through the
model VIDEO.TEST.MAX_CLIPS_PER_BATCH at a time, so memory stays bounded whatever a
tracklet's length.
"""
import os

import torch
from fastreid.config import configurable
from fastreid.modeling.meta_arch import META_ARCH_REGISTRY, Baseline

from ...config import ConfigError
from ..backbones import PACKAGED_PRETRAIN


def backbone_width(backbone, image_size):
    """Channels of the backbone's feature maps [B, C, h, w], from one dry forward in eval mode
    (what detectron2's `output_shape()` declares; fast-reid's backbones declare nothing)."""
    was_training = backbone.training
    backbone.eval()
    with torch.no_grad():
        probe = next(backbone.parameters())
        out = backbone(probe.new_zeros(1, 3, *image_size))
    backbone.train(was_training)
    if out.dim() != 4:
        raise ConfigError(f"MODEL.BACKBONE.NAME: a video model needs a backbone returning feature maps "
                          f"[B, C, h, w], got shape {tuple(out.shape)}")
    return out.shape[1]


def check_feat_dim(cfg, backbone):
    """The rule of every video model: MODEL.BACKBONE.FEAT_DIM, which fast-reid's heads and the
    models' own layers are built for, is the measured width of the backbone's feature maps."""
    width = backbone_width(backbone, cfg.INPUT.SIZE_TRAIN)
    b = cfg.MODEL.BACKBONE
    if width != b.FEAT_DIM:
        raise ConfigError(f"MODEL.BACKBONE.FEAT_DIM is {b.FEAT_DIM}, but {b.NAME} (DEPTH {b.DEPTH}) gives feature "
                          f"maps of {width} channels: set MODEL.BACKBONE.FEAT_DIM {width}")


def check_pretrained_weights(cfg):
    """fast-reid downloads ImageNet weights when PRETRAIN_PATH is empty; here nothing can be
    downloaded, so a missing file is an error that says what to do. Backbones of
    `PACKAGED_PRETRAIN` find their own weights when PRETRAIN_PATH is empty. The file must
    load with `torch.load(weights_only=True)` before fast-reid's backbone loads it, so a
    file that would run code is refused whatever torch's default."""
    backbone = cfg.MODEL.BACKBONE
    if not backbone.PRETRAIN or (not backbone.PRETRAIN_PATH and backbone.NAME in PACKAGED_PRETRAIN):
        return
    if not os.path.isfile(backbone.PRETRAIN_PATH):
        raise FileNotFoundError(
            f"MODEL.BACKBONE.PRETRAIN is True but MODEL.BACKBONE.PRETRAIN_PATH "
            f"'{backbone.PRETRAIN_PATH}' is not a file: put the ImageNet weights of the backbone "
            f"there (for ResNet-50, torchvision's resnet50-19c8e357.pth), set "
            f"MODEL.BACKBONE.PRETRAIN False, or use MODEL.BACKBONE.NAME "
            f"{PACKAGED_PRETRAIN[0]} with PRETRAIN_PATH '' (ImageNet weights shipped in a package)")
    try:
        torch.load(backbone.PRETRAIN_PATH, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ConfigError(f"MODEL.BACKBONE.PRETRAIN_PATH '{backbone.PRETRAIN_PATH}' cannot be loaded as "
                          f"weights only ({type(e).__name__}: {str(e)[:300]}); only tensors and "
                          f"containers of them are accepted") from e


def pool_clips(features, num_clips):
    """Average clip features [N_clips, D] into tracklet features [B, D]."""
    if num_clips is None:
        return features
    counts = num_clips.to(features.device)
    owner = torch.repeat_interleave(torch.arange(len(counts), device=features.device), counts)
    sums = features.new_zeros(len(counts), features.shape[1]).index_add_(0, owner, features)
    return sums / counts.unsqueeze(1).to(features.dtype)


@META_ARCH_REGISTRY.register()
class VideoBaseline(Baseline):
    """Any fast-reid backbone on every frame, temporal average pooling of the frame
    feature maps, then fast-reid's own head (`MODEL.HEADS`) and losses (`MODEL.LOSSES`).

    Subclasses replace `video_head` (and extend `losses` when they add any).
    """
    # entries of a batch that hold one row per clip (the others hold one per tracklet)
    PER_CLIP = ("images", "keypoints")

    @configurable
    def __init__(self, *, max_test_clips=0, **kwargs):
        """max_test_clips: clips per forward at test (VIDEO.TEST.MAX_CLIPS_PER_BATCH; 0: all)."""
        super().__init__(**kwargs)
        self.max_test_clips = max_test_clips

    @classmethod
    def from_config(cls, cfg):
        check_pretrained_weights(cfg)
        base = super().from_config(cfg)
        check_feat_dim(cfg, base["backbone"])
        return dict(base, max_test_clips=cfg.VIDEO.TEST.MAX_CLIPS_PER_BATCH)

    def preprocess_image(self, batched_inputs):
        """Normalise out of place (fast-reid's Baseline does it in place), any leading dims."""
        images = batched_inputs["images"] if isinstance(batched_inputs, dict) else batched_inputs
        images = images.to(self.device, non_blocking=True)
        mean = self.pixel_mean.view(-1, 1, 1)
        std = self.pixel_std.view(-1, 1, 1)
        return (images - mean) / std

    def frame_features(self, clips):
        """Backbone on every frame: [B, T, 3, H, W] -> feature maps [B, T, C, h, w]."""
        b, t = clips.shape[:2]
        fmaps = self.backbone(clips.flatten(0, 1))
        return fmaps.unflatten(0, (b, t))

    def video_head(self, fmaps, batched_inputs, targets=None):
        """Temporal average pooling, then fast-reid's head (dict in training, features at test)."""
        return self.heads(fmaps.mean(1), targets)

    def clip_feature_maps(self, batched_inputs):
        """Normalised clips -> backbone feature maps [B, T, C, h, w]; a batch of single
        images [B, 3, H, W] is a batch of 1-frame clips."""
        clips = self.preprocess_image(batched_inputs)
        return self.frame_features(clips.unsqueeze(1) if clips.dim() == 4 else clips)

    def test_chunks(self, batched_inputs):
        """The batch cut into parts of at most max_test_clips clips (per-clip entries sliced)."""
        if not isinstance(batched_inputs, dict):
            batched_inputs = {"images": batched_inputs}
        n = len(batched_inputs["images"])
        step = self.max_test_clips or n
        for start in range(0, n, step):
            yield {k: v[start:start + step] if k in self.PER_CLIP else v for k, v in batched_inputs.items()}

    def forward(self, batched_inputs):
        if self.training:
            assert "targets" in batched_inputs, "Person ID annotation are missing in training!"
            targets = batched_inputs["targets"].to(self.device)
            if targets.sum() < 0:  # PreciseBN on a dataset with other ids, as fast-reid does
                targets.zero_()
            fmaps = self.clip_feature_maps(batched_inputs)
            return self.losses(self.video_head(fmaps, batched_inputs, targets), targets)
        features = torch.cat([self.video_head(self.clip_feature_maps(part), part)
                              for part in self.test_chunks(batched_inputs)])
        return pool_clips(features, batched_inputs.get("num_clips") if isinstance(batched_inputs, dict) else None)
