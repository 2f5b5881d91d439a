"""Config keys the plugin adds to fast-reid's `get_cfg()`, one node per concern.

`add_plugin_config(cfg)` is called by `train_net.py`'s `setup()` before
`merge_from_file`, so an unknown key in a YAML file is a yacs error.
"""
from fastreid.config import CfgNode as CN


def add_video_config(cfg):
    """VIDEO: how tracklets become clips (Sec. 4.1 of the CTL paper: T = 6)."""
    _C = cfg
    _C.VIDEO = CN()
    # Training clips: restricted random sampling (RRS). The tracklet is cut into
    # SEQ_LEN equal chunks and one random frame is drawn from each; tracklets
    # shorter than SEQ_LEN repeat frames.
    _C.VIDEO.TRAIN = CN()
    _C.VIDEO.TRAIN.SEQ_LEN = 6
    # Test clips. MODE "all": every frame, in consecutive SEQ_LEN-frame clips
    # (the last one padded by repeating its last frame); the model averages the
    # clip features into one tracklet feature. MODE "chunk_first": one clip made
    # of the first frame of each of SEQ_LEN equal chunks (fast, approximate).
    _C.VIDEO.TEST = CN()
    _C.VIDEO.TEST.SEQ_LEN = 6
    _C.VIDEO.TEST.MODE = "all"
    # Split index for datasets evaluated over several random splits
    # (iLIDS-VID and PRID2011: 10 splits; tools/run_splits.py runs them all).
    _C.VIDEO.SPLIT = 0
    # Number of worker processes of the test loader (fast-reid hard-codes 4).
    _C.VIDEO.TEST.NUM_WORKERS = 2


def add_keypoint_config(cfg):
    """KEYPOINTS: where the 17 COCO key-points of every frame come from (Eq. 1)."""
    _C = cfg
    _C.KEYPOINTS = CN()
    # "none": no key-points in the batch; "cache": read from the offline cache
    # and carried through the clip augmentation; "online": estimated inside the
    # model by a frozen estimator.
    _C.KEYPOINTS.SOURCE = "none"
    # Cache folder; "" means <data root>/keypoints. Layout:
    # <CACHE_DIR>/<DatasetName>/<frame list>.npy + .json (see data/keypoint_cache.py).
    _C.KEYPOINTS.CACHE_DIR = ""
    # Estimator the cache must have been made with ("" accepts any).
    _C.KEYPOINTS.ESTIMATOR = ""
    # Gaussian radius, in feature-map cells, of heat-maps rendered from cached key-points.
    _C.KEYPOINTS.SIGMA = 1.0
    # Heat-maps are normalised by a spatial softmax (Eq. 1); logits are divided
    # by this temperature (1.0 is the paper's plain softmax).
    _C.KEYPOINTS.SOFTMAX_TEMPERATURE = 1.0

    # The mmpose estimator: online mode, and `tools/extract_keypoints.py --estimator mmpose`.
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
    # Estimator used when --estimator is not given: "mmpose" or "mediapipe".
    _C.KEYPOINTS.EXTRACT.ESTIMATOR = "mmpose"
    # Frames per chunk: the unit written atomically, resumed after a kill, and
    # dealt out round-robin to --shard i/n.
    _C.KEYPOINTS.EXTRACT.CHUNK_SIZE = 1024
    # Frames read and estimated per step (a multiple of KEYPOINTS.MMPOSE.BATCH_SIZE
    # keeps the estimator's batches full).
    _C.KEYPOINTS.EXTRACT.BATCH_SIZE = 64
    # Processes decoding frames while the estimator runs.
    _C.KEYPOINTS.EXTRACT.NUM_WORKERS = 2


def add_plugin_config(cfg):
    """Every node of the plugin."""
    add_video_config(cfg)
    add_keypoint_config(cfg)
    return cfg
