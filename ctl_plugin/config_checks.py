"""Every plugin key checked before a run starts, with an error naming the key.

`check_config(cfg)` (called by `engine.setup`) refuses values that would otherwise
fail late, at the first test forward or after hours of training, or not at all:
the ranges of every VIDEO.*, KEYPOINTS.* and CTL.* key, CTL's constraints between
keys, MODEL.DEVICE without the device, and the batch layout of fast-reid's identity
samplers. Whether the training set can fill a batch is checked when the training
loader is built (`data.build.check_train_set`).
"""
import torch

from .config import ConfigError
from .data.build import IDENTITY_SAMPLERS, TRAIN_SAMPLERS
from .data.clips import TEST_MODES
from .keypoints import EXTRACT_BACKENDS, KEYPOINT_SOURCES, skeleton
from .keypoints.heatmaps import HEATMAP_NORMS


def _require(ok, key, value, expected):
    if not ok:
        raise ConfigError(f"{key} is {value!r}; expected {expected}")


def _positive(cfg_node, prefix, *names, zero_ok=False):
    for name in names:
        value = cfg_node[name]
        bound = 0 if zero_ok else 1
        _require(isinstance(value, int) and value >= bound, f"{prefix}.{name}", value,
                 f"an integer >= {bound}")


def check_device(cfg):
    device = str(cfg.MODEL.DEVICE)
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"MODEL.DEVICE is {device!r} but torch sees no CUDA device; set MODEL.DEVICE cpu")
        index = int(device.split(":")[1]) if ":" in device else 0
        _require(index < torch.cuda.device_count(), "MODEL.DEVICE", device,
                 f"one of the {torch.cuda.device_count()} CUDA devices")
    else:
        _require(device == "cpu", "MODEL.DEVICE", device, "'cpu' or 'cuda[:i]'")


def check_video(cfg):
    v = cfg.VIDEO
    _positive(v.TRAIN, "VIDEO.TRAIN", "SEQ_LEN")
    _positive(v.TEST, "VIDEO.TEST", "SEQ_LEN")
    _positive(v.TEST, "VIDEO.TEST", "NUM_WORKERS", "MAX_CLIPS_PER_BATCH", zero_ok=True)
    _positive(v, "VIDEO", "SPLIT", zero_ok=True)
    _require(v.TEST.MODE in TEST_MODES, "VIDEO.TEST.MODE", v.TEST.MODE, f"one of {sorted(TEST_MODES)}")


def check_keypoints(cfg):
    k = cfg.KEYPOINTS
    _require(k.SOURCE in KEYPOINT_SOURCES, "KEYPOINTS.SOURCE", k.SOURCE, f"one of {KEYPOINT_SOURCES}")
    _require(k.SIGMA > 0, "KEYPOINTS.SIGMA", k.SIGMA, "a radius > 0 (feature cells)")
    _require(k.HEATMAP_NORM in HEATMAP_NORMS, "KEYPOINTS.HEATMAP_NORM", k.HEATMAP_NORM, f"one of {HEATMAP_NORMS}")
    _require(k.SOFTMAX_TEMPERATURE > 0, "KEYPOINTS.SOFTMAX_TEMPERATURE", k.SOFTMAX_TEMPERATURE, "a value > 0")
    size = list(k.MMPOSE.INPUT_SIZE)
    _require(len(size) == 2 and all(isinstance(s, int) and s >= 32 for s in size), "KEYPOINTS.MMPOSE.INPUT_SIZE",
             size, "(H, W), each an integer >= 32")
    _positive(k.MMPOSE, "KEYPOINTS.MMPOSE", "BATCH_SIZE")
    conf = k.MEDIAPIPE.MIN_DETECTION_CONFIDENCE
    _require(0.0 <= conf <= 1.0, "KEYPOINTS.MEDIAPIPE.MIN_DETECTION_CONFIDENCE", conf, "a value in [0, 1]")
    _require(k.EXTRACT.BACKEND in EXTRACT_BACKENDS, "KEYPOINTS.EXTRACT.BACKEND", k.EXTRACT.BACKEND,
             f"one of {EXTRACT_BACKENDS}")
    _positive(k.EXTRACT, "KEYPOINTS.EXTRACT", "CHUNK_SIZE", "BATCH_SIZE")
    _positive(k.EXTRACT, "KEYPOINTS.EXTRACT", "NUM_WORKERS", zero_ok=True)


def check_ctl(cfg):
    from .modeling.graph.cross_scale import EMBEDDING_BNS
    from .modeling.graph.ctl_graph import GCL_MODES
    from .modeling.graph.fusion import BRANCHES, GATED_PART_TERMS, PART_TERMS

    c, seq_len = cfg.CTL, cfg.VIDEO.TRAIN.SEQ_LEN
    _require(c.GCL.MODE in GCL_MODES, "CTL.GCL.MODE", c.GCL.MODE, f"one of {GCL_MODES}")
    _positive(c.GCL, "CTL.GCL", "NUM_LAYERS")
    window = c.GCL.WINDOW
    _require(isinstance(window, int) and window >= 1 and window % 2 == 1 and window <= seq_len,
             "CTL.GCL.WINDOW", window,
             f"an odd number of frames, 1 to VIDEO.TRAIN.SEQ_LEN = {seq_len} (a window is centred on "
             f"its frame; a longer one only adds frames of zeros)")
    scales = tuple(c.CROSS_SCALE.SCALES)
    _require(set(scales) <= set(skeleton.SCALE_SIZES) and "s3" in scales and len(set(scales)) == len(scales),
             "CTL.CROSS_SCALE.SCALES", scales, "'s3' and any of 's1', 's2', each once")
    m = c.CROSS_SCALE.NUM_LAYERS
    _require(m == 1 or (m == 2 and c.GCL.MODE != "none" and c.GCL.NUM_LAYERS >= 2), "CTL.CROSS_SCALE.NUM_LAYERS",
             m, "1, or 2 with CTL.GCL.NUM_LAYERS >= 2 and CTL.GCL.MODE not 'none'")
    _require(c.CROSS_SCALE.ALPHA >= 0, "CTL.CROSS_SCALE.ALPHA", c.CROSS_SCALE.ALPHA, "a weight >= 0")
    _positive(c.CROSS_SCALE, "CTL.CROSS_SCALE", "EMBED_DIM")
    _require(c.CROSS_SCALE.EMBEDDING_BN in EMBEDDING_BNS, "CTL.CROSS_SCALE.EMBEDDING_BN",
             c.CROSS_SCALE.EMBEDDING_BN, f"one of {EMBEDDING_BNS}")
    _require(c.FUSION.INFERENCE_BRANCH in BRANCHES, "CTL.FUSION.INFERENCE_BRANCH", c.FUSION.INFERENCE_BRANCH,
             f"one of {BRANCHES}")
    _require(c.FUSION.PART_TERM in PART_TERMS, "CTL.FUSION.PART_TERM", c.FUSION.PART_TERM, f"one of {PART_TERMS}")
    _require(c.FUSION.GATE_GAIN > 0 and (c.FUSION.GATE_GAIN == 1 or c.FUSION.PART_TERM in GATED_PART_TERMS),
             "CTL.FUSION.GATE_GAIN", c.FUSION.GATE_GAIN,
             f"a factor > 0, other than 1 only with a gated CTL.FUSION.PART_TERM {GATED_PART_TERMS}")
    _require(c.LOSSES.DIV_SCALE >= 0, "CTL.LOSSES.DIV_SCALE", c.LOSSES.DIV_SCALE, "a weight >= 0")
    if cfg.MODEL.META_ARCHITECTURE != "CTL":
        return
    _require(cfg.KEYPOINTS.SOURCE in ("cache", "online"), "KEYPOINTS.SOURCE", cfg.KEYPOINTS.SOURCE,
             "'cache' or 'online': CTL pools its part features with key-point heat-maps")
    if c.GCL.MODE == "frame" and c.TOPOLOGY.CONTEXT and cfg.VIDEO.TEST.SEQ_LEN != seq_len:
        raise ConfigError(f"VIDEO.TEST.SEQ_LEN is {cfg.VIDEO.TEST.SEQ_LEN}; the frame-level context block "
                          f"(CTL.GCL.MODE 'frame', Fig. 4a) squeezes VIDEO.TRAIN.SEQ_LEN = {seq_len} frames, "
                          f"so test clips must have {seq_len} frames too")


def check_sampler(cfg):
    batch, k = cfg.SOLVER.IMS_PER_BATCH, cfg.DATALOADER.NUM_INSTANCE
    _require(batch >= 1, "SOLVER.IMS_PER_BATCH", batch, "an integer >= 1")
    _require(cfg.DATALOADER.SAMPLER_TRAIN in TRAIN_SAMPLERS, "DATALOADER.SAMPLER_TRAIN",
             cfg.DATALOADER.SAMPLER_TRAIN, f"one of {TRAIN_SAMPLERS} (fast-reid's training samplers)")
    if cfg.DATALOADER.SAMPLER_TRAIN in IDENTITY_SAMPLERS:
        _require(k >= 1 and batch % k == 0, "SOLVER.IMS_PER_BATCH", batch,
                 f"a multiple of DATALOADER.NUM_INSTANCE = {k} (identities x tracklets per identity)")


def check_config(cfg):
    """Raise `ConfigError` for the first key whose value cannot work."""
    check_device(cfg)
    check_video(cfg)
    check_keypoints(cfg)
    check_ctl(cfg)
    check_sampler(cfg)
