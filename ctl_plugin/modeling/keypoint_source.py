"""Where CTL's key-point heat-maps come from (KEYPOINTS.SOURCE), at feature resolution."""
from torch import nn

from ..config import ConfigError
from ..keypoints.heatmaps import normalize_heatmaps, render_heatmaps

SOURCES = ("cache", "online")


class KeypointHeatmaps(nn.Module):
    """Normalised heat-maps [B, T, 17, h, w] for the clips of a batch (Eq. 1; `norm` and
    `temperature` as in `keypoints.heatmaps.normalize_heatmaps`).

    "cache":  rendered from batched_inputs["keypoints"] [B, T, 17, 3] (input pixels).
    "online": `estimator` (the frozen module of `keypoints.build_online_estimator`,
              clips [B, T, 3, H, W] 0-255 -> raw heat-maps [B, T, 17, h, w] at the
              requested feature size) runs on batched_inputs["images"].
    """

    def __init__(self, source, sigma=1.0, norm="softmax", temperature=1.0, estimator=None):
        super().__init__()
        if source not in SOURCES:
            raise ConfigError(f"KEYPOINTS.SOURCE: CTL needs key-points, expected one of {SOURCES}, "
                             f"got {source!r}")
        if source == "online" and estimator is None:
            raise ConfigError("KEYPOINTS.SOURCE is 'online' but no key-point estimator was given")
        self.source = source
        self.sigma = sigma
        self.norm = norm
        self.temperature = temperature
        self.estimator = estimator

    def forward(self, batched_inputs, feature_size):
        images = batched_inputs["images"]
        if self.source == "cache":
            if "keypoints" not in batched_inputs:
                raise ConfigError("KEYPOINTS.SOURCE is 'cache' but the batch has no 'keypoints' "
                               "(expected float [B, T, 17, 3])")
            kps = batched_inputs["keypoints"]
            if kps.shape[:2] != images.shape[:2] or tuple(kps.shape[2:]) != (17, 3):
                raise ValueError(f"batch 'keypoints' has shape {tuple(kps.shape)}; expected "
                                 f"[B, T, 17, 3] matching 'images' {tuple(images.shape)}")
            raw = render_heatmaps(kps, image_size=images.shape[-2:], feature_size=feature_size,
                                  sigma=self.sigma)
        else:
            device = next(self.estimator.parameters()).device
            raw = self.estimator(images.to(device), feature_size=tuple(feature_size))
        return normalize_heatmaps(raw, self.norm, self.temperature)


def build_keypoint_heatmaps(cfg, estimator=None):
    """KeypointHeatmaps from the KEYPOINTS node; the "online" source builds the frozen
    estimator of KEYPOINTS.MMPOSE unless one is given."""
    if cfg.KEYPOINTS.SOURCE == "online" and estimator is None:
        from ..keypoints import build_online_estimator
        estimator = build_online_estimator(cfg)
    return KeypointHeatmaps(cfg.KEYPOINTS.SOURCE, cfg.KEYPOINTS.SIGMA, cfg.KEYPOINTS.HEATMAP_NORM,
                            cfg.KEYPOINTS.SOFTMAX_TEMPERATURE, estimator)
