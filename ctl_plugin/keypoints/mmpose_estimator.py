"""A frozen mmpose top-down heat-map model (default HRNet-W32, COCO-17).

`MmposeHeatmaps` runs on whole person crops, so it is the estimator of both key-point
modes: online, inside the re-ID model (`forward`: clips -> raw heat-maps at the
backbone's feature resolution, to be normalised by `heatmaps.normalize_heatmaps`,
Eq. 1), and offline, for the key-point cache (`estimate`: frames -> key-points).

The model is built from a config shipped in the mmpose wheel and loaded with
`torch.load(weights_only=True)`; a checkpoint that needs unsafe unpickling is
refused unless KEYPOINTS.MMPOSE.ALLOW_UNSAFE_LOAD is set.
"""
import glob
import logging
import os
import pickle

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..io import file_sha256
from .cache import RANDOM_WEIGHTS
from .skeleton import NUM_KEYPOINTS

logger = logging.getLogger(__name__)

# RANDOM_WEIGHTS, as KEYPOINTS.MMPOSE.CHECKPOINT, asks for seeded random weights
# (benchmarks and tests; the key-points are meaningless).
RANDOM_SEED = 0


class MmposeLoadError(RuntimeError):
    """The mmpose config or checkpoint cannot be used; the message names the file or key."""


def resolve_config(name):
    """Path of an mmpose config: an existing `.py` file, or the stem of a config
    shipped in the mmpose wheel (e.g. 'td-hm_hrnet-w32_8xb64-210e_coco-256x192')."""
    if os.path.isfile(name):
        return name
    import mmpose

    root = os.path.join(os.path.dirname(mmpose.__file__), ".mim", "configs")
    stem = os.path.splitext(os.path.basename(name))[0]
    found = sorted(glob.glob(os.path.join(root, "**", stem + ".py"), recursive=True))
    if not found:
        raise MmposeLoadError(f"KEYPOINTS.MMPOSE.CONFIG '{name}' is neither a file nor a config "
                              f"shipped with mmpose (searched {root}/**/{stem}.py)")
    return found[0]


def build_pose_model(config_name):
    """Build the pose model of an mmpose config with random weights (no download)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.apis.inference import build_pose_estimator

    path = resolve_config(config_name)
    config = Config.fromfile(path)
    head = config.model.get("head", {})
    if head.get("out_channels") != NUM_KEYPOINTS or "Heatmap" not in head.get("type", ""):
        raise MmposeLoadError(f"KEYPOINTS.MMPOSE.CONFIG '{path}': expected a heat-map head with "
                              f"{NUM_KEYPOINTS} COCO key-points, got head {head.get('type')} with "
                              f"{head.get('out_channels')} outputs")
    if "init_cfg" in config.model.get("backbone", {}):
        config.model.backbone.init_cfg = None  # it names an ImageNet file to download
    config.model.train_cfg = None
    init_default_scope(config.get("default_scope", "mmpose"))
    model = build_pose_estimator(config.model)
    preprocessor = config.model.data_preprocessor
    return model, preprocessor.mean, preprocessor.std


def load_state_dict(path, allow_unsafe=False):
    """The weights of a checkpoint file (its 'state_dict' entry, or the file itself).

    Loaded with `weights_only=True`; a file that stores other Python objects (mmpose's
    own checkpoints keep numpy arrays in 'meta') is refused unless `allow_unsafe`.
    """
    if not os.path.isfile(path):
        raise MmposeLoadError(f"KEYPOINTS.MMPOSE.CHECKPOINT '{path}' is not found")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if not allow_unsafe:
            raise MmposeLoadError(
                f"KEYPOINTS.MMPOSE.CHECKPOINT '{path}' needs unsafe unpickling, which can run "
                f"arbitrary code. Save only its state_dict "
                f"(torch.save(torch.load(p, weights_only=False)['state_dict'], q)), or set "
                f"KEYPOINTS.MMPOSE.ALLOW_UNSAFE_LOAD True for a file you trust. ({e})") from e
        logger.warning(f"Loading '{path}' with unsafe unpickling (KEYPOINTS.MMPOSE.ALLOW_UNSAFE_LOAD)")
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise MmposeLoadError(f"KEYPOINTS.MMPOSE.CHECKPOINT '{path}': expected a state_dict "
                              f"(name -> tensor) or a dict with a 'state_dict' entry")
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}


class MmposeHeatmaps(nn.Module):
    """Frozen pose model: always in eval mode, no gradients, its own normalisation.

    pose_model: an mmpose top-down heat-map model (`model(x, None, mode='tensor')`
                gives [N, 17, h', w'] heat-maps).
    mean, std:  its RGB normalisation, in 0-255 pixel units.
    input_size: (H, W) the frames are resized to before the model.
    name:       identifies model and input size in the key-point cache's sidecar.
    weights_sha256: SHA-256 of the checkpoint (RANDOM_WEIGHTS for random weights).
    batch_size: frames per forward pass.
    """

    def __init__(self, pose_model, mean, std, input_size, name="mmpose", weights_sha256="",
                 batch_size=32):
        super().__init__()
        # channels-last: oneDNN's convolutions run HRNet about twice as fast on CPU in this layout
        self.pose_model = pose_model.to(memory_format=torch.channels_last)
        for p in self.pose_model.parameters():
            p.requires_grad_(False)
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).view(3, 1, 1), persistent=False)
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32).view(3, 1, 1), persistent=False)
        self.input_size = tuple(int(s) for s in input_size)
        self.name = name
        self.weights_sha256 = weights_sha256
        self.batch_size = int(batch_size)
        self.train(False)

    def train(self, mode=True):
        """Stays in eval mode whatever `mode` is: the estimator's BN statistics are frozen."""
        return super().train(False)

    @torch.no_grad()
    def model_heatmaps(self, frames):
        """Frames [N, 3, H, W] (0-255 RGB, any size) -> the model's heat-maps [N, 17, h', w']
        of the frames resized to `input_size`."""
        outputs = []
        for batch in frames.split(self.batch_size):
            x = batch.to(self.mean.device, torch.float32)
            if tuple(x.shape[-2:]) != self.input_size:
                x = F.interpolate(x, size=self.input_size, mode="bilinear", align_corners=False)
            x = ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
            heatmaps = self.pose_model(x, None, mode="tensor")
            if heatmaps.dim() != 4 or heatmaps.shape[1] != NUM_KEYPOINTS:
                raise MmposeLoadError(f"estimator '{self.name}' returned {tuple(heatmaps.shape)}; "
                                      f"expected heat-maps [N, {NUM_KEYPOINTS}, h, w]")
            outputs.append(heatmaps.float())
        return torch.cat(outputs)

    @torch.no_grad()
    def forward(self, clips, feature_size):
        """Clips [B, T, 3, H, W] (0-255 RGB) -> raw heat-maps [B, T, 17, h, w], h x w =
        `feature_size`. Max-pooled from the model's resolution, so each key-point's
        peak lands in the feature cell that holds the decoded key-point."""
        b, t = clips.shape[:2]
        heatmaps = self.model_heatmaps(clips.flatten(0, 1))
        pooled = F.adaptive_max_pool2d(heatmaps, tuple(int(s) for s in feature_size))
        return pooled.unflatten(0, (b, t))

    @torch.no_grad()
    def estimate(self, frames):
        """Key-points of a list of RGB uint8 frames [H_i, W_i, 3] -> float32 [n, 17, 3]:
        x, y in each frame's own pixels, confidence = the heat-map's peak in [0, 1]."""
        h_in, w_in = self.input_size
        resized = np.stack([_resize(f, (w_in, h_in)) for f in frames])
        heatmaps = self.model_heatmaps(torch.from_numpy(resized).permute(0, 3, 1, 2))
        sizes = torch.tensor([f.shape[:2] for f in frames], dtype=torch.float32)
        return decode_heatmaps(heatmaps, sizes).numpy()


def _resize(frame, size_wh):
    import cv2

    if (frame.shape[1], frame.shape[0]) == tuple(size_wh):
        return frame
    return cv2.resize(frame, size_wh, interpolation=cv2.INTER_LINEAR)


def decode_heatmaps(heatmaps, image_sizes):
    """Heat-maps [N, 17, h, w] of images of sizes [N, 2] (H, W) -> key-points [N, 17, 3]
    at each map's argmax, in image pixels as mmpose's codec maps them (cell (i, j) ->
    (j * W / w, i * H / h)); confidence is the peak value clamped to [0, 1]."""
    n, k, h, w = heatmaps.shape
    peak, index = heatmaps.flatten(2).max(dim=-1)
    x = (index % w).float() * (image_sizes[:, 1:2] / w)
    y = torch.div(index, w, rounding_mode="floor").float() * (image_sizes[:, 0:1] / h)
    return torch.stack([x, y, peak.clamp(0, 1)], dim=-1)


def build_mmpose_estimator(cfg):
    """`MmposeHeatmaps` from the KEYPOINTS.MMPOSE node."""
    node = cfg.KEYPOINTS.MMPOSE
    checkpoint = node.CHECKPOINT
    if not checkpoint:
        raise MmposeLoadError("KEYPOINTS.MMPOSE.CHECKPOINT is empty: give the path of the pose "
                              f"model's weights (or '{RANDOM_WEIGHTS}' for seeded random weights, "
                              "for benchmarks only)")
    if checkpoint == RANDOM_WEIGHTS:
        torch.manual_seed(RANDOM_SEED)
        logger.warning("KEYPOINTS.MMPOSE.CHECKPOINT is 'random': the key-points are meaningless")
    model, mean, std = build_pose_model(node.CONFIG)
    weights_sha256 = RANDOM_WEIGHTS  # what a cache made with it records
    if checkpoint != RANDOM_WEIGHTS:
        state = load_state_dict(checkpoint, node.ALLOW_UNSAFE_LOAD)
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            raise MmposeLoadError(f"KEYPOINTS.MMPOSE.CHECKPOINT '{checkpoint}' does not fit "
                                  f"KEYPOINTS.MMPOSE.CONFIG '{node.CONFIG}': {str(e)[:1500]}") from e
        weights_sha256 = file_sha256(checkpoint)
    stem = os.path.splitext(os.path.basename(node.CONFIG))[0]
    h, w = node.INPUT_SIZE
    return MmposeHeatmaps(model, mean, std, (h, w), name=f"mmpose:{stem}@{h}x{w}",
                          weights_sha256=weights_sha256, batch_size=node.BATCH_SIZE)
