"""The key-point cache: 17 COCO key-points per frame of one dataset split.

On disk, for dataset `D` and frame list `F` (e.g. MARS / bbox_train):

    <cache_dir>/D/F.npy    float32 [num_frames, 17, 3]: x, y in the frame's own
                           pixels, confidence in [0, 1]; row i is frame i of F
    <cache_dir>/D/F.json   sidecar: estimator, its weights' SHA-256 ("random" for random
                           weights), the number of frames, the SHA-1 of F's frame list,
                           two fingerprints of a fixed sample of F's frame files:
                           their sizes and modification times, and their bytes,
                           and the SHA-1 of the array's content

The sidecar is written last, so a cache without one is incomplete. Opening checks
the sidecar against the dataset (frame list, estimator, weights when asked, and the
sample's sizes and times, so frames replaced under the same names are noticed) and
the array (its size on disk, its content's SHA-1, so rows reordered or replaced after
extraction are noticed, finite values, confidences in [0, 1]), and refuses a cache that
does not match, naming the file and what differs; a file that cannot be read at all
(empty, truncated, not a .npy) is a KeypointCacheError naming it too. Frames copied elsewhere
keep their bytes but not their times: `revalidate` then checks the sample's bytes and
records the new times.

`ChunkedCacheWriter` builds a cache in chunks, for extraction that survives a kill
and runs in shards:

    <cache_dir>/D/F.parts/job.json          what is being extracted (a CacheInfo)
    <cache_dir>/D/F.parts/<start>.npy       key-points of frames [start, start + chunk)

Each chunk file appears by an atomic rename, so a killed run leaves only whole
chunks; `merge` writes F.npy and F.json from them and removes F.parts.
"""
import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass

import numpy as np

from ..config import ConfigError

FORMAT_VERSION = 2
NUM_KEYPOINTS = 17
FINGERPRINT_SAMPLE = 1024  # frames whose files are fingerprinted, evenly spread over the list
RANDOM_WEIGHTS = "random"  # weights_sha256 of an estimator with random weights


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
    files_stat_sha1: str
    files_bytes_sha1: str
    format: int = FORMAT_VERSION
    array_sha1: str = ""  # SHA-1 of the array's bytes ("" in caches written before it was recorded)


def fingerprint_sample(frame_list, size=FINGERPRINT_SAMPLE):
    """Indices of the frames whose files are fingerprinted: `size` evenly spread ones."""
    n = len(frame_list)
    return np.unique(np.linspace(0, n - 1, min(n, size)).round().astype(np.int64)) if n else np.zeros(0, np.int64)


def files_stat_sha1(frame_list):
    """SHA-1 of the sample's relative paths, sizes and modification times (cheap: no reads)."""
    h = hashlib.sha1()
    for i in fingerprint_sample(frame_list):
        st = os.stat(frame_list.path(int(i)))
        h.update(f"{frame_list.relpaths[i]} {st.st_size} {st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def files_bytes_sha1(frame_list):
    """SHA-1 of the sample's relative paths and bytes."""
    h = hashlib.sha1()
    for i in fingerprint_sample(frame_list):
        h.update(frame_list.relpaths[i].encode())
        with open(frame_list.path(int(i)), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def cache_info(dataset_name, frame_list, estimator, weights_sha256, keypoints=None):
    """The sidecar of a cache of `frame_list` made now (its frame files must exist), with the
    SHA-1 of `keypoints` [n, 17, 3] when given."""
    return CacheInfo(dataset_name, frame_list.name, len(frame_list), frame_list.digest(), estimator,
                     weights_sha256, files_stat_sha1(frame_list), files_bytes_sha1(frame_list),
                     array_sha1="" if keypoints is None else checked_sha1(keypoints))


def checked_sha1(array, path=None):
    """SHA-1 of a cache array's float32 bytes [n, 17, 3] (memory-mapped or not), read in blocks
    of 65,536 frames; with `path`, `check_values` on each block in the same pass."""
    sha = hashlib.sha1()
    for start in range(0, len(array), 1 << 16):
        block = np.ascontiguousarray(array[start:start + (1 << 16)], dtype=np.float32)
        if path is not None:
            check_values(block, path, start)
        sha.update(block.tobytes())
    return sha.hexdigest()


def check_values(keypoints, path, first_frame=0):
    """Refuse key-points [n, 17, 3] that are not finite or whose confidence is outside [0, 1],
    naming the file and the first bad frame (its row in the frame list)."""
    bad = ~np.isfinite(keypoints).all(axis=(1, 2))
    if bad.any():
        raise KeypointCacheError(f"key-point cache '{path}': frame {first_frame + int(np.argmax(bad))} holds "
                                 f"non-finite key-points (NaN or inf)")
    conf = keypoints[..., 2]
    bad = ((conf < 0) | (conf > 1)).any(axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        raise KeypointCacheError(f"key-point cache '{path}': frame {first_frame + row} holds confidences "
                                 f"{conf[row].min():.3g}..{conf[row].max():.3g}; expected values in [0, 1]")


def cache_paths(cache_dir, dataset_name, frame_list_name):
    """(array path, sidecar path) of one split's cache."""
    stem = os.path.join(cache_dir, dataset_name, frame_list_name)
    return stem + ".npy", stem + ".json"


def no_pose_share(keypoints):
    """The share of frames whose 17 confidences are all 0: the estimator found no person there
    (CTL then pools every part over the whole map; see docs/keypoints.md). 0 for no frames."""
    keypoints = np.asarray(keypoints)
    return float((keypoints[..., 2].max(axis=-1) <= 0).mean()) if len(keypoints) else 0.0


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
    check_values(keypoints, array_path)
    os.makedirs(os.path.dirname(array_path), exist_ok=True)
    tmp = f"{array_path}.{os.getpid()}.tmp.npy"
    np.save(tmp, keypoints)
    os.replace(tmp, array_path)
    write_sidecar(sidecar_path, cache_info(dataset_name, frame_list, estimator, weights_sha256, keypoints))
    return array_path


HINT = "make it with `python tools/extract_keypoints.py --config-file <cfg>` or set KEYPOINTS.CACHE_DIR"


def read_sidecar(array_path, sidecar_path):
    if not os.path.exists(array_path):
        raise KeypointCacheError(f"key-point cache '{array_path}' is not found; {HINT}")
    if not os.path.exists(sidecar_path):
        raise KeypointCacheError(f"key-point cache '{array_path}' has no sidecar '{sidecar_path}': "
                                 f"it is incomplete; {HINT}")
    with open(sidecar_path) as f:
        try:
            return CacheInfo(**json.load(f))
        except (TypeError, ValueError) as e:
            raise KeypointCacheError(f"'{sidecar_path}': malformed sidecar ({e}); its format may be older "
                                     f"than {FORMAT_VERSION}: re-extract the cache (--overwrite)") from e


def load_array(array_path, num_frames):
    """The memory-mapped [num_frames, 17, 3] array of a cache, or an error naming the file."""
    expected = (num_frames, NUM_KEYPOINTS, 3)
    try:
        array = np.load(array_path, mmap_mode="r")
    except (ValueError, OSError, EOFError) as e:
        raise KeypointCacheError(f"key-point cache '{array_path}' cannot be read ({e}): truncated or "
                                 f"damaged? It should hold float32 {expected}; re-extract it") from e
    if array.shape != expected:
        raise KeypointCacheError(f"key-point cache '{array_path}' holds an array of shape {array.shape}; "
                                 f"expected {expected}")
    return array


def load_chunk(path):
    try:
        return np.load(path)
    except (ValueError, OSError, EOFError) as e:
        raise KeypointCacheError(f"chunk '{path}' cannot be read ({type(e).__name__}: {e}); remove it and "
                                 f"extract again (finished chunks are kept)") from e


class KeypointCache:
    """A validated, memory-mapped cache of one frame list."""

    def __init__(self, array, info: CacheInfo, path):
        self.array = array
        self.info = info
        self.path = path

    @classmethod
    def open(cls, cache_dir, dataset_name, frame_list, estimator="", weights_sha256="", for_training=False):
        """Open and validate the cache of `frame_list` (see the module docstring);
        `estimator` and `weights_sha256` ('' = any) must match the sidecar. A cache made
        with random weights is refused `for_training`."""
        array_path, sidecar_path = cache_paths(cache_dir, dataset_name, frame_list.name)
        info = read_sidecar(array_path, sidecar_path)
        problems = []
        if info.format != FORMAT_VERSION:
            problems.append(f"format {info.format} (expected {FORMAT_VERSION})")
        if info.num_frames != len(frame_list):
            problems.append(f"{info.num_frames} frames (the dataset has {len(frame_list)})")
        if info.frames_sha1 != frame_list.digest():
            problems.append("a different frame list (SHA-1 of the frame names differs)")
        if estimator and info.estimator != estimator:
            problems.append(f"estimator '{info.estimator}' (KEYPOINTS.CACHE_ESTIMATOR is '{estimator}')")
        if weights_sha256 and info.weights_sha256 != weights_sha256:
            problems.append(f"weights SHA-256 '{info.weights_sha256}' (expected '{weights_sha256}')")
        if for_training and info.weights_sha256 == RANDOM_WEIGHTS:
            problems.append(f"key-points of '{info.estimator}' with random weights, which are meaningless "
                            f"for training; extract them with the estimator's real weights")
        if not problems and info.files_stat_sha1 != files_stat_sha1(frame_list):
            problems.append(f"other sizes or modification times of its frame files (of a sample of "
                            f"{len(fingerprint_sample(frame_list))}): frames replaced under the same names? "
                            f"Re-extract, or if the frames were only copied, run "
                            f"`python tools/extract_keypoints.py --config-file <cfg> --revalidate`")
        if problems:
            raise KeypointCacheError(f"key-point cache '{array_path}' does not match {dataset_name}/"
                                     f"{frame_list.name}: it records " + "; ".join(problems))
        array = load_array(array_path, len(frame_list))
        sha1 = checked_sha1(array, array_path)
        if info.array_sha1 and sha1 != info.array_sha1:
            raise KeypointCacheError(f"key-point cache '{array_path}': its content differs from what was "
                                     f"extracted (SHA-1 {sha1}, the sidecar records {info.array_sha1}): rows "
                                     f"reordered or replaced? Re-extract it (--overwrite)")
        return cls(array, info, array_path)

    @staticmethod
    def revalidate(cache_dir, dataset_name, frame_list):
        """Frames copied elsewhere: if the sample's bytes are those the cache was made from,
        record the files' new sizes and times; otherwise refuse. Returns True if rewritten."""
        array_path, sidecar_path = cache_paths(cache_dir, dataset_name, frame_list.name)
        info = read_sidecar(array_path, sidecar_path)
        stat = files_stat_sha1(frame_list)
        if info.files_stat_sha1 == stat:
            return False
        if info.files_bytes_sha1 != files_bytes_sha1(frame_list):
            raise KeypointCacheError(f"key-point cache '{array_path}': the bytes of its frame files differ from "
                                     f"those it was made from; the frames changed: re-extract it (--overwrite)")
        write_sidecar(sidecar_path, CacheInfo(**{**asdict(info), "files_stat_sha1": stat}))
        return True

    def __len__(self):
        return len(self.array)

    def no_pose_share(self):
        """The share of the list's frames without a pose (`no_pose_share`)."""
        return no_pose_share(self.array)

    def lookup(self, frame_indices):
        """Key-points [n, 17, 3] (float32, frame pixels) of frames `frame_indices` of the list."""
        return np.array(self.array[np.asarray(frame_indices)], dtype=np.float32)


class ChunkedCacheWriter:
    """Writes the cache of one frame list chunk by chunk (see the module docstring).

    Chunk k holds frames [k * chunk_size, (k + 1) * chunk_size); shard i of n owns
    the chunks with k % n == i. Opening an existing F.parts that records another
    frame list, estimator, weights or chunk size raises `KeypointCacheError`.
    """

    def __init__(self, cache_dir, dataset_name, frame_list, estimator, weights_sha256, chunk_size):
        if chunk_size < 1:
            raise ConfigError(f"KEYPOINTS.EXTRACT.CHUNK_SIZE must be >= 1, got {chunk_size}")
        self.cache_dir = cache_dir
        self.dataset_name = dataset_name
        self.frame_list = frame_list
        self.info = CacheInfo(dataset_name, frame_list.name, len(frame_list), frame_list.digest(),
                              estimator, weights_sha256, "", "")
        self.chunk_size = int(chunk_size)
        self.parts_dir = self.parts_dir_of(cache_dir, dataset_name, frame_list)
        os.makedirs(self.parts_dir, exist_ok=True)
        self._check_job()

    @staticmethod
    def parts_dir_of(cache_dir, dataset_name, frame_list):
        return os.path.splitext(cache_paths(cache_dir, dataset_name, frame_list.name)[0])[0] + ".parts"

    def _job(self):
        job = dict(asdict(self.info), chunk_size=self.chunk_size)
        del job["array_sha1"]  # known once merged
        return job

    def _check_job(self):
        path = os.path.join(self.parts_dir, "job.json")
        job = self._job()
        if os.path.exists(path):
            with open(path) as f:
                found = json.load(f)
            diff = sorted(k for k in job if found.get(k) != job[k])
            if diff:
                raise KeypointCacheError(
                    f"'{self.parts_dir}' holds a partial extraction with other "
                    + ", ".join(f"{k} ({found.get(k)!r}, now {job[k]!r})" for k in diff)
                    + "; remove that folder to start again")
            return
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(job, f, indent=1)
        os.replace(tmp, path)

    def chunks(self):
        """(start, stop) of every chunk, in order."""
        n = len(self.frame_list)
        return [(s, min(s + self.chunk_size, n)) for s in range(0, n, self.chunk_size)]

    def chunk_path(self, start):
        return os.path.join(self.parts_dir, f"{start:010d}.npy")

    def is_done(self, start):
        return os.path.exists(self.chunk_path(start))

    def pending(self, shard=0, num_shards=1):
        """Chunks of shard `shard` of `num_shards` not written yet."""
        return [c for k, c in enumerate(self.chunks()) if k % num_shards == shard and not self.is_done(c[0])]

    def write_chunk(self, start, keypoints):
        """Write the key-points [stop - start, 17, 3] of chunk `start` atomically."""
        bounds = dict(self.chunks())
        if start not in bounds:
            raise ValueError(f"{start} is not the start of a chunk of '{self.parts_dir}'")
        keypoints = np.asarray(keypoints, dtype=np.float32)
        expected = (bounds[start] - start, NUM_KEYPOINTS, 3)
        if keypoints.shape != expected:
            raise ValueError(f"chunk {start} of '{self.parts_dir}': key-points have shape "
                             f"{keypoints.shape}; expected {expected}")
        check_values(keypoints, self.parts_dir, start)
        tmp = f"{self.chunk_path(start)}.{os.getpid()}.tmp.npy"
        np.save(tmp, keypoints)
        os.replace(tmp, self.chunk_path(start))

    def merge(self):
        """Write the whole cache from the chunks, then remove the parts folder."""
        missing = [s for s, _ in self.chunks() if not self.is_done(s)]
        if missing:
            raise KeypointCacheError(f"'{self.parts_dir}' lacks {len(missing)} chunk(s), "
                                     f"the first at frame {missing[0]}; extract them before merging")
        parts = [load_chunk(self.chunk_path(s)) for s, _ in self.chunks()]
        keypoints = np.concatenate(parts) if parts else np.zeros((0, NUM_KEYPOINTS, 3), np.float32)
        path = write_cache(self.cache_dir, self.dataset_name, self.frame_list, keypoints,
                           self.info.estimator, self.info.weights_sha256)
        shutil.rmtree(self.parts_dir)
        return path
