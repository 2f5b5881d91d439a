"""The key-point cache: 17 COCO key-points per frame of one dataset split.

On disk, for dataset `D` and frame list `F` (e.g. MARS / bbox_train):

    <cache_dir>/D/F.npy    float32 [num_frames, 17, 3]: x, y in the frame's own
                           pixels, confidence in [0, 1]; row i is frame i of F
    <cache_dir>/D/F.json   sidecar: estimator, its weights' SHA-256, the number of
                           frames and the SHA-1 of F's frame list

The sidecar is written last, so a cache without one is incomplete. Opening checks
the sidecar against the dataset and refuses a cache that does not match it.
"""
import hashlib
import json
import os
from dataclasses import asdict, dataclass

import numpy as np

FORMAT_VERSION = 1
NUM_KEYPOINTS = 17


class KeypointCacheError(RuntimeError):
    """The cache is missing, incomplete or was made for other frames or another estimator."""


@dataclass
class CacheInfo:
    """The sidecar of one cache file."""
    dataset: str
    frame_list: str
    num_frames: int
    frames_sha1: str
    estimator: str
    weights_sha256: str
    format: int = FORMAT_VERSION


def cache_paths(cache_dir, dataset_name, frame_list_name):
    """(array path, sidecar path) of one split's cache."""
    stem = os.path.join(cache_dir, dataset_name, frame_list_name)
    return stem + ".npy", stem + ".json"


def file_sha256(path, chunk=1 << 20):
    """SHA-256 of a weights file, recorded in the sidecar ('' for no file)."""
    if not path:
        return ""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def write_sidecar(sidecar_path, info: CacheInfo):
    tmp = sidecar_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(asdict(info), f, indent=1)
    os.replace(tmp, sidecar_path)


def write_cache(cache_dir, dataset_name, frame_list, keypoints, estimator, weights_sha256=""):
    """Write a whole cache at once (array first, then the sidecar). Returns the array path."""
    keypoints = np.asarray(keypoints, dtype=np.float32)
    if keypoints.shape != (len(frame_list), NUM_KEYPOINTS, 3):
        raise ValueError(f"key-points have shape {keypoints.shape}; expected "
                         f"({len(frame_list)}, {NUM_KEYPOINTS}, 3) for frame list '{frame_list.name}'")
    array_path, sidecar_path = cache_paths(cache_dir, dataset_name, frame_list.name)
    os.makedirs(os.path.dirname(array_path), exist_ok=True)
    tmp = array_path + ".tmp.npy"
    np.save(tmp, keypoints)
    os.replace(tmp, array_path)
    write_sidecar(sidecar_path, CacheInfo(dataset_name, frame_list.name, len(frame_list),
                                          frame_list.digest(), estimator, weights_sha256))
    return array_path


class KeypointCache:
    """A validated, memory-mapped cache of one frame list."""

    def __init__(self, array, info: CacheInfo, path):
        self.array = array
        self.info = info
        self.path = path

    @classmethod
    def open(cls, cache_dir, dataset_name, frame_list, estimator=""):
        """Open and validate the cache of `frame_list`; `estimator` ('' = any) must match."""
        array_path, sidecar_path = cache_paths(cache_dir, dataset_name, frame_list.name)
        hint = ("make it with `python tools/extract_keypoints.py --config-file <cfg>` "
                "or set KEYPOINTS.CACHE_DIR")
        if not os.path.exists(array_path):
            raise KeypointCacheError(f"key-point cache '{array_path}' is not found; {hint}")
        if not os.path.exists(sidecar_path):
            raise KeypointCacheError(f"key-point cache '{array_path}' has no sidecar '{sidecar_path}': "
                                     f"it is incomplete; {hint}")
        with open(sidecar_path) as f:
            try:
                info = CacheInfo(**json.load(f))
            except (TypeError, ValueError) as e:
                raise KeypointCacheError(f"'{sidecar_path}': malformed sidecar ({e})") from e
        problems = []
        if info.format != FORMAT_VERSION:
            problems.append(f"format {info.format} (expected {FORMAT_VERSION})")
        if info.num_frames != len(frame_list):
            problems.append(f"{info.num_frames} frames (the dataset has {len(frame_list)})")
        if info.frames_sha1 != frame_list.digest():
            problems.append("a different frame list (SHA-1 of the frame names differs)")
        if estimator and info.estimator != estimator:
            problems.append(f"estimator '{info.estimator}' (KEYPOINTS.ESTIMATOR is '{estimator}')")
        array = np.load(array_path, mmap_mode="r")
        if array.shape != (len(frame_list), NUM_KEYPOINTS, 3):
            problems.append(f"array shape {array.shape} (expected ({len(frame_list)}, {NUM_KEYPOINTS}, 3))")
        if problems:
            raise KeypointCacheError(f"key-point cache '{array_path}' does not match {dataset_name}/"
                                     f"{frame_list.name}: it records " + "; ".join(problems))
        return cls(array, info, array_path)

    def __len__(self):
        return len(self.array)

    def lookup(self, frame_indices):
        """Key-points [n, 17, 3] (float32, frame pixels) of frames `frame_indices` of the list."""
        return np.array(self.array[np.asarray(frame_indices)], dtype=np.float32)
