"""Key-points: the COCO-17 skeleton, heat-maps (Eq. 1) and the estimators."""
from ..config import ConfigError

# KEYPOINTS.SOURCE: no key-points, the offline cache, or an estimator run by the model
KEYPOINT_SOURCES = ("none", "cache", "online")
# KEYPOINTS.EXTRACT.BACKEND: the estimators that fill the cache (`build_offline_estimator`)
EXTRACT_BACKENDS = ("mmpose", "mediapipe")


def build_online_estimator(cfg):
    """The frozen estimator the model runs when KEYPOINTS.SOURCE is "online":
    `estimator(batched_inputs["images"], feature_size=fmaps.shape[-2:])` turns clips
    [B, T, 3, H, W] (0-255 RGB) into raw heat-maps [B, T, 17, h, w]."""
    from .mmpose_estimator import build_mmpose_estimator

    return build_mmpose_estimator(cfg)


def build_offline_estimator(cfg, backend=None):
    """The estimator that fills the key-point cache: `estimate(frames) -> [n, 17, 3]`.
    backend: one of EXTRACT_BACKENDS (default KEYPOINTS.EXTRACT.BACKEND)."""
    backend = backend or cfg.KEYPOINTS.EXTRACT.BACKEND
    if backend == "mmpose":
        from .mmpose_estimator import build_mmpose_estimator
        return build_mmpose_estimator(cfg).to(cfg.MODEL.DEVICE)
    if backend == "mediapipe":
        from .mediapipe_estimator import build_mediapipe_estimator
        return build_mediapipe_estimator(cfg)
    raise ConfigError(f"KEYPOINTS.EXTRACT.BACKEND '{backend}': expected one of {EXTRACT_BACKENDS}")
