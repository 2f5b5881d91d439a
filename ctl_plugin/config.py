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


def add_plugin_config(cfg):
    """Every node of the plugin."""
    add_video_config(cfg)
    add_keypoint_config(cfg)
    return cfg
