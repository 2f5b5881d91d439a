"""Config keys the plugin adds to fast-reid's `get_cfg()`, one node per concern, and
`build_cfg`, the one way every script builds a config.

`build_cfg(config_file, opts)` = fast-reid's defaults + the plugin's nodes + the node
of every project, then the YAML file (with its `_BASE_` chain) and `KEY VALUE` opts, so
an unknown key is a yacs error. Projects are packages listed under the
"ctl_reid.projects" entry point group (pyproject.toml); importing one registers its
meta-architecture and, through `register_config`, its config node.
"""
import importlib
import os
import re
from importlib.metadata import entry_points

import yaml
from fastreid.config import CfgNode as CN
from fastreid.config import get_cfg

PROJECT_ENTRY_POINTS = "ctl_reid.projects"
_PROJECT_NODES = []


class ConfigError(ValueError):
    """A config key holds a value that cannot work; the message names the key and what it expects."""


def add_video_config(cfg):
    """VIDEO: how tracklets become clips (Sec. 4.1 of the CTL paper: T = 6)."""
    _C = cfg
    _C.VIDEO = CN()
    # Training clips: restricted random sampling (RRS). The tracklet is cut into
    # SEQ_LEN equal chunks and one random frame is drawn from each; tracklets
    # shorter than SEQ_LEN repeat frames.
    _C.VIDEO.TRAIN = CN()
    _C.VIDEO.TRAIN.SEQ_LEN = 6
    # Test clips; the model averages a tracklet's clip features into one feature.
    # MODE "all": every frame, in consecutive SEQ_LEN-frame clips (the last one padded
    # by repeating its last frame). "interleaved": every frame, in clips that each
    # take one frame of each of SEQ_LEN equal chunks, so a test clip spans the
    # tracklet with the time gaps of a training (RRS) clip. "chunk_first": one clip
    # made of the first frame of each chunk (fast, approximate).
    _C.VIDEO.TEST = CN()
    _C.VIDEO.TEST.SEQ_LEN = 6
    _C.VIDEO.TEST.MODE = "all"
    # Split index for datasets evaluated over several random splits
    # (iLIDS-VID and PRID2011: 10 splits; tools/run_splits.py runs them all).
    _C.VIDEO.SPLIT = 0
    # Number of worker processes of the test loader (fast-reid hard-codes 4).
    _C.VIDEO.TEST.NUM_WORKERS = 2
    # Clips per model forward at test: a batch's clips (all the clips of TEST.IMS_PER_BATCH
    # tracklets) go through the model this many at a time and their features are averaged
    # as before, so memory stays bounded however long a tracklet is. 0: all at once.
    _C.VIDEO.TEST.MAX_CLIPS_PER_BATCH = 64


def add_keypoint_config(cfg):
    """KEYPOINTS: where the 17 COCO key-points of every frame come from (Eq. 1)."""
    _C = cfg
    _C.KEYPOINTS = CN()
    # "none": no key-points in the batch; "cache": read from the offline cache
    # and carried through the clip augmentation; "online": estimated inside the
    # model by a frozen estimator.
    _C.KEYPOINTS.SOURCE = "none"
    # Cache folder; "" means <data root>/keypoints. Layout:
    # <CACHE_DIR>/<DatasetName>/<frame list>.npy + .json (see keypoints/cache.py).
    _C.KEYPOINTS.CACHE_DIR = ""
    # Estimator the cache must have been made with, as its sidecar names it, e.g.
    # "mediapipe:pose_landmark_full" or "ground-truth" ("" accepts any).
    _C.KEYPOINTS.CACHE_ESTIMATOR = ""
    # Gaussian radius, in feature-map cells, of heat-maps rendered from cached key-points.
    _C.KEYPOINTS.SIGMA = 1.0
    # How a heat-map becomes the distribution over feature cells that pools its key-point's
    # feature (Eq. 1). "softmax": the paper's spatial softmax of the map divided by
    # SOFTMAX_TEMPERATURE (1.0: the plain softmax, nearly uniform for maps in [0, 1]);
    # "sum": the map divided by its sum (a zero map, confidence 0, becomes uniform).
    # Softmax at 0.1 was chosen on the study's tuning set (docs/ctl_study.md).
    _C.KEYPOINTS.HEATMAP_NORM = "softmax"
    _C.KEYPOINTS.SOFTMAX_TEMPERATURE = 0.1

    # The mmpose estimator: online mode, and `tools/extract_keypoints.py --keypoints mmpose`.
    _C.KEYPOINTS.MMPOSE = CN()
    # A config shipped in the mmpose wheel (its file name without .py) or a path to one;
    # it must be a top-down heat-map model of the 17 COCO key-points.
    _C.KEYPOINTS.MMPOSE.CONFIG = "td-hm_hrnet-w32_8xb64-210e_coco-256x192"
    # The model's weights: a state_dict file, or a checkpoint holding one under
    # 'state_dict'. "random" builds seeded random weights (benchmarks only).
    _C.KEYPOINTS.MMPOSE.CHECKPOINT = ""
    # Weights are read with torch.load(weights_only=True). mmpose's released
    # checkpoints also pickle numpy arrays; True lets such a trusted file be unpickled.
    _C.KEYPOINTS.MMPOSE.ALLOW_UNSAFE_LOAD = False
    # (H, W) every frame is resized to before the estimator. HRNet is fully
    # convolutional, so a 256x192 checkpoint runs at re-ID's 256x128.
    _C.KEYPOINTS.MMPOSE.INPUT_SIZE = [256, 128]
    # Frames per forward pass of the estimator.
    _C.KEYPOINTS.MMPOSE.BATCH_SIZE = 32

    # The mediapipe estimator (BlazePose-full, weights shipped in the wheel), offline only.
    _C.KEYPOINTS.MEDIAPIPE = CN()
    # Person-detector threshold; a frame without a detection gets confidence 0.
    _C.KEYPOINTS.MEDIAPIPE.MIN_DETECTION_CONFIDENCE = 0.5

    # Offline extraction into the cache (tools/extract_keypoints.py).
    _C.KEYPOINTS.EXTRACT = CN()
    # Estimator backend used when --keypoints is not given: "mmpose" or "mediapipe".
    _C.KEYPOINTS.EXTRACT.BACKEND = "mmpose"
    # Frames per chunk: the unit written atomically, resumed after a kill, and
    # dealt out round-robin to --shard i/n.
    _C.KEYPOINTS.EXTRACT.CHUNK_SIZE = 1024
    # Frames read and estimated per step (a multiple of KEYPOINTS.MMPOSE.BATCH_SIZE
    # keeps the estimator's batches full).
    _C.KEYPOINTS.EXTRACT.BATCH_SIZE = 64
    # Processes decoding frames while the estimator runs.
    _C.KEYPOINTS.EXTRACT.NUM_WORKERS = 2


def add_ctl_config(cfg):
    """CTL: the graph heads of CTL (Sec. 3) and every ablation of Tables 3-5 / Fig. 7.

    docs/ctl.md maps each ablation row to these keys. The identity and triplet
    loss weights lambda_2 and lambda_1 of Eq. 9 are fast-reid's
    MODEL.LOSSES.CE.SCALE and MODEL.LOSSES.TRI.SCALE.
    """
    _C = cfg
    _C.CTL = CN()
    # Context-reinforced topology, Eq. 2: A_s = A^p + A^m + A^c. A^p (physical
    # skeleton, skeleton.physical_adjacency) is always on (Table 4).
    _C.CTL.TOPOLOGY = CN()
    # Add the learnable mask A^m (initialised at zero).
    _C.CTL.TOPOLOGY.MASK = True
    # Add the data-dependent A^c of the context block (Fig. 4).
    _C.CTL.TOPOLOGY.CONTEXT = True
    # Graph convolution layers on each scale (Sec. 3.3).
    _C.CTL.GCL = CN()
    # "3d": 3D-GCL over sliding windows (Eq. 3-4, advanced context block, Fig. 4b);
    # "frame": plain GCN on frame-level graphs (context block, Fig. 4a), Table 3
    # "+ContRe"; "none": part features go to the fusion untouched, Table 3 "Basel".
    _C.CTL.GCL.MODE = "3d"
    # L, the number of graph layers (Fig. 7a).
    _C.CTL.GCL.NUM_LAYERS = 2
    # tau, the temporal window of the 3D-GCL, odd (Fig. 7b); "frame" mode uses 1.
    _C.CTL.GCL.WINDOW = 3
    # Cross-scale graph convolution, Eq. 5-7.
    _C.CTL.CROSS_SCALE = CN()
    # False: X_s13 and X_s23 of Eq. 7 are plain averages of member nodes (Table 3 "+3D").
    _C.CTL.CROSS_SCALE.ENABLED = True
    # M, how many times the CS-GCLs run: 1 = after the last graph layer;
    # 2 = also after the first one (Table 5). Needs NUM_LAYERS >= M.
    _C.CTL.CROSS_SCALE.NUM_LAYERS = 1
    # Scales whose part features make V_p (Table 5): ("s3",), ("s3", "s1") or ("s3", "s1", "s2").
    _C.CTL.CROSS_SCALE.SCALES = ("s3", "s1", "s2")
    # alpha of Eq. 7.
    _C.CTL.CROSS_SCALE.ALPHA = 0.3
    # Width of the relation embeddings phi, varphi, h, f of Eq. 5.
    _C.CTL.CROSS_SCALE.EMBED_DIM = 256
    # phi and varphi of Eq. 5 have no scale index, so one FC of each serves both scales
    # of a CS-GCL. "per_scale": each scale has its own BN after them, whose running
    # statistics describe that scale's nodes; "shared": one BN sees both scales.
    _C.CTL.CROSS_SCALE.EMBEDDING_BN = "per_scale"
    # Fusion block, Sec. 3.5.
    _C.CTL.FUSION = CN()
    # Branch used as the tracklet feature at test: "g" (V_f^g), "a" (V_f^a, the paper's) or "c" (V_f^c).
    _C.CTL.FUSION.INFERENCE_BRANCH = "a"
    # How V_p enters V_f^a and V_f^c, an open choice (docs/ctl.md): "sum", the paper's plain
    # sum; "zero_scale" / "zero_bn": the part term times one learnable scalar / through a
    # BatchNorm whose weight starts at 0, so that V_f^a and V_f^c start equal to V_f^g, the
    # feature VideoBaseline takes from the same backbone; "mean": the mean over the parts.
    _C.CTL.FUSION.PART_TERM = "sum"
    # A fixed factor on the output of a gated part term ("zero_scale", "zero_bn"): Adam moves
    # the gate's parameters by about the learning rate per step, so this multiplies how far
    # the gate can open in a run's budget (docs/ctl_study.md). 1 leaves the gate as it is.
    _C.CTL.FUSION.GATE_GAIN = 1.0
    # Losses of Eq. 9 beyond fast-reid's.
    _C.CTL.LOSSES = CN()
    # lambda_3 of Eq. 9: weight of the diversity loss of Eq. 8.
    _C.CTL.LOSSES.DIV_SCALE = 1.0


# Keys of earlier releases: a YAML file that still sets one gets yacs's error naming the new key.
RENAMED_KEYS = {
    "KEYPOINTS.ESTIMATOR": "KEYPOINTS.CACHE_ESTIMATOR",
    "KEYPOINTS.EXTRACT.ESTIMATOR": "KEYPOINTS.EXTRACT.BACKEND",
}


def add_plugin_config(cfg):
    """Every node of the plugin."""
    # Seed of python's, numpy's and torch's RNGs, of fast-reid's sampler and of every
    # training clip's frames and augmentation (data/seeded_sampling.py); a negative
    # value draws one at random, which the config saved in OUTPUT_DIR records.
    cfg.SEED = -1
    # Restoring a model (--resume, --eval-only, MODEL.WEIGHTS, the tools) refuses a
    # checkpoint whose keys or shapes differ from the model's; False loads the keys that fit.
    cfg.MODEL.WEIGHTS_STRICT = True
    add_video_config(cfg)
    add_keypoint_config(cfg)
    add_ctl_config(cfg)
    for old, new in RENAMED_KEYS.items():
        cfg.register_renamed_key(old, new)
    return cfg


def register_config(add_node):
    """Decorator for a project's `add_<project>_config(cfg)`: `build_cfg` applies it."""
    if add_node not in _PROJECT_NODES:
        _PROJECT_NODES.append(add_node)
    return add_node


def load_projects():
    """Import every project package named in the "ctl_reid.projects" entry point group."""
    for entry in entry_points(group=PROJECT_ENTRY_POINTS):
        importlib.import_module(entry.value)


def get_video_cfg():
    """fast-reid's default cfg with the plugin's and every project's nodes."""
    load_projects()
    cfg = add_plugin_config(get_cfg())
    for add_node in _PROJECT_NODES:
        add_node(cfg)
    return cfg


def build_cfg(config_file=None, opts=()):
    """`get_video_cfg()` merged with a YAML file (None: the defaults) and `KEY VALUE` opts."""
    cfg = get_video_cfg()
    if config_file:
        try:
            cfg.merge_from_file(config_file)
        except KeyError as e:
            found = re.search(r"Non-existent config key: ([\w.]+)", str(e))
            if not found:
                raise
            key = found.group(1)
            holder = next((f for f in base_chain(config_file) if _sets_key(f, key)), config_file)
            raise ConfigError(f"'{holder}' sets {key}, which is no config key (read through "
                              f"'{config_file}'); see ctl_plugin/config.py and fast-reid's defaults") from e
    cfg.merge_from_list(list(opts))
    return cfg


def base_chain(config_file):
    """The YAML files a config reads: itself, then its _BASE_, that file's _BASE_, ..."""
    chain, path = [], config_file
    while path and path not in chain:
        chain.append(path)
        with open(path) as f:
            base = (yaml.safe_load(f) or {}).get("_BASE_")
        if not base:
            break
        base = os.path.expanduser(base)
        path = base if os.path.isabs(base) else os.path.join(os.path.dirname(path), base)
    return chain


def _sets_key(path, key):
    with open(path) as f:
        node = yaml.safe_load(f) or {}
    for name in key.split("."):
        if not isinstance(node, dict) or name not in node:
            return False
        node = node[name]
    return True
