"""A synthetic video re-ID set written in the exact MARS layout, with its key-point cache.

    <data_root>/synthetic-mars/bbox_train/<pid4>/<pid4>C<cam>T<tracklet4>F<frame3>.jpg
    <data_root>/synthetic-mars/bbox_test/...     (also 00-1: junk, 0000: distractors)
    <data_root>/synthetic-mars/info/train_name.txt, test_name.txt
    <data_root>/synthetic-mars/info/tracks_train_info.mat   track_train_info int32 (n, 4)
    <data_root>/synthetic-mars/info/tracks_test_info.mat    track_test_info  int32 (n, 4)
    <data_root>/synthetic-mars/info/query_IDX.mat           query_IDX uint16 (1, q)
    <data_root>/keypoints/SyntheticMARS/bbox_train.npy/.json, bbox_test.npy/.json

Track table columns are [start, end, pid, camid], 1-based inclusive rows of the
name list. Every test id is seen by at least two cameras; its queries come from
different cameras, and each query has a same-id tracklet from another camera
that is not a query. Everything is a function of `seed`: a rerun writes the
same bytes, but for the times of the frame files that the cache sidecars record.
"""
import io
import os
import shutil
import time
from dataclasses import dataclass

import cv2
import numpy as np
import scipy.io

from ...keypoints.cache import write_cache
from ..datasets.mars import pid_prefix
from ..tracklets import FrameList
from .figure import make_outfits
from .scene import make_camera_styles
from .tracklet import TrackletSpec, render_tracklet

DATASET_DIR = "synthetic-mars"
DATASET_NAME = "SyntheticMARS"
ESTIMATOR = "ground-truth"
JPEG_QUALITY = 90
JUNK_PID, DISTRACTOR_PID = -1, 0
_MAT_HEADER = b"MATLAB 5.0 MAT-file, written by ctl_plugin.data.synthetic"


@dataclass(frozen=True)
class PlannedTracklet:
    pid: int
    camid: int      # 1-based, as in MARS names
    number: int     # tracklet number of this pid in this camera, 1-based
    spec: TrackletSpec

    def frame_names(self):
        folder = pid_prefix(self.pid)
        return [f"{folder}C{self.camid}T{self.number:04d}F{f:03d}.jpg" for f in range(1, self.spec.length + 1)]


@dataclass(frozen=True)
class SyntheticMarsSummary:
    dataset_dir: str
    keypoint_dir: str
    num_train_tracklets: int
    num_test_tracklets: int
    num_queries: int
    num_train_frames: int
    num_test_frames: int
    seconds: float


def _check_arguments(num_train_ids, num_test_ids, num_cameras, tracklets_per_camera,
                     tracklet_length, queries_per_id, frame_size):
    if not 2 <= num_cameras <= 6:
        raise ValueError(f"num_cameras={num_cameras}: MARS names hold one camera digit, 1-6, "
                         "and every id needs two cameras")
    if num_train_ids < 1 or num_test_ids < 1 or num_train_ids + num_test_ids > 9999:
        raise ValueError(f"num_train_ids={num_train_ids}, num_test_ids={num_test_ids}: expected "
                         "at least one of each and at most 9999 in all (4-digit pids)")
    lo, hi = tracklets_per_camera
    if not 1 <= lo <= hi:
        raise ValueError(f"tracklets_per_camera={tracklets_per_camera}: expected (min, max) with 1 <= min <= max")
    lo, hi = tracklet_length
    if not 1 <= lo <= hi <= 999:
        raise ValueError(f"tracklet_length={tracklet_length}: expected (min, max) with 1 <= min <= max <= 999 "
                         "(3-digit frame numbers)")
    if queries_per_id < 1:
        raise ValueError(f"queries_per_id={queries_per_id}: expected at least 1")
    if frame_size[0] < 32 or frame_size[1] < 16:
        raise ValueError(f"frame_size={frame_size}: expected (height, width) of at least (32, 16)")


def _spec(rng, kind, outfit, tracklet_length, occlusion_rate):
    return TrackletSpec(kind=kind, length=int(rng.integers(tracklet_length[0], tracklet_length[1] + 1)),
                        seed=int(rng.integers(2 ** 63)), outfit=outfit,
                        occluded=bool(rng.random() < occlusion_rate))


def _plan_identity(rng, pid, outfit, num_cameras, tracklets_per_camera, two_per_camera_pair,
                   tracklet_length, occlusion_rate):
    """Tracklets of one id in 2..num_cameras cameras. With `two_per_camera_pair`, an id
    seen by only two cameras gets two tracklets in each (so both can hold a query)."""
    k = int(rng.integers(2, num_cameras + 1))
    cameras = np.sort(rng.choice(num_cameras, k, replace=False)) + 1
    planned = []
    for cam in cameras:
        count = int(rng.integers(tracklets_per_camera[0], tracklets_per_camera[1] + 1))
        if two_per_camera_pair and k == 2:
            count = max(count, 2)
        for number in range(1, count + 1):
            planned.append(PlannedTracklet(pid, int(cam), number,
                                           _spec(rng, "person", outfit, tracklet_length, occlusion_rate)))
    return planned


def _plan_extras(rng, pid, kind, count, outfits, num_cameras, tracklet_length):
    """Junk or distractor tracklets, numbered per camera."""
    numbers, planned = {}, []
    for i in range(count):
        cam = int(rng.integers(1, num_cameras + 1))
        numbers[cam] = numbers.get(cam, 0) + 1
        outfit = outfits[i] if outfits else None
        planned.append(PlannedTracklet(pid, cam, numbers[cam], _spec(rng, kind, outfit, tracklet_length, 0.0)))
    return planned


def _sort_by_name(planned):
    return sorted(planned, key=lambda p: p.frame_names()[0])


def _track_table(planned):
    """int32 [n, 4] rows [start, end, pid, camid], 1-based inclusive, and the name list."""
    rows, names = [], []
    for p in planned:
        start = len(names) + 1
        names.extend(p.frame_names())
        rows.append([start, len(names), p.pid, p.camid])
    return np.array(rows, dtype=np.int32).reshape(-1, 4), names


def _choose_queries(rng, table, queries_per_id):
    """0-based query rows: per real test id, first tracklets of distinct cameras, such that
    each query keeps a non-query same-id tracklet in another camera."""
    queries = []
    for pid in np.unique(table[:, 2]):
        if pid <= 0:
            continue
        rows = np.flatnonzero(table[:, 2] == pid)
        cameras = np.unique(table[rows, 3])
        limit = 2 if len(cameras) == 2 else len(cameras) - 1
        chosen = rng.choice(cameras, min(queries_per_id, limit), replace=False)
        queries.extend(int(rows[table[rows, 3] == cam][0]) for cam in chosen)
    queries = np.sort(np.array(queries, dtype=np.int64))
    is_query = np.zeros(len(table), bool)
    is_query[queries] = True
    for q in queries:
        pid, cam = table[q, 2], table[q, 3]
        if not np.any((table[:, 2] == pid) & (table[:, 3] != cam) & ~is_query):
            raise RuntimeError(f"query row {q + 1} (pid {pid}) has no cross-camera gallery match")
    if len(queries) >= 2 ** 16 or len(table) >= 2 ** 16:
        raise ValueError(f"{len(table)} test tracklets do not fit the uint16 query_IDX of MARS")
    return queries


def savemat_v5(path, variable, array):
    """`scipy.io.savemat` (MATLAB v5) with a fixed header text, so reruns write the same bytes."""
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {variable: array}, format="5")
    data = bytearray(buffer.getvalue())
    data[:116] = _MAT_HEADER.ljust(116, b" ")
    with open(path, "wb") as f:
        f.write(bytes(data))


def _write_split(dataset_dir, split, planned, styles, frame_size):
    """Render and write one split's frames; returns (table, names, key-points [n, 17, 3])."""
    table, names = _track_table(planned)
    keypoints = np.zeros((len(names), 17, 3), np.float32)
    for row, p in zip(table, planned):
        folder = os.path.join(dataset_dir, split, pid_prefix(p.pid))
        os.makedirs(folder, exist_ok=True)
        frames, kps = render_tracklet(p.spec, styles[p.camid - 1], frame_size)
        keypoints[row[0] - 1:row[1]] = kps
        for name, frame in zip(p.frame_names(), frames):
            if not cv2.imwrite(os.path.join(folder, name), frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
                raise OSError(f"could not write '{os.path.join(folder, name)}'")
    return table, names, keypoints


def generate_synthetic_mars(data_root, *, num_train_ids=16, num_test_ids=16, num_cameras=3,
                            tracklets_per_camera=(1, 2), tracklet_length=(4, 24), num_junk=4,
                            num_distractors=6, queries_per_id=2, occlusion_rate=0.25,
                            frame_size=(128, 64), seed=0, overwrite=False):
    """Write the set under `data_root` (see the module docstring) and return a summary.

    frame_size is (height, width). An existing `<data_root>/synthetic-mars` is replaced
    only with `overwrite=True`."""
    _check_arguments(num_train_ids, num_test_ids, num_cameras, tracklets_per_camera,
                     tracklet_length, queries_per_id, frame_size)
    started = time.perf_counter()
    dataset_dir = os.path.join(data_root, DATASET_DIR)
    if os.path.exists(dataset_dir):
        if not overwrite:
            raise FileExistsError(f"'{dataset_dir}' already exists; pass overwrite=True (--overwrite) to replace it")
        shutil.rmtree(dataset_dir)
    rng = np.random.default_rng(seed)
    styles = make_camera_styles(rng, num_cameras)
    outfits = make_outfits(rng, num_train_ids + num_test_ids + num_junk)
    pids = rng.permutation(np.arange(1, num_train_ids + num_test_ids + 1))
    train_pids, test_pids = np.sort(pids[:num_train_ids]), np.sort(pids[num_train_ids:])
    args = (num_cameras, tracklets_per_camera)
    train = [t for pid in train_pids for t in _plan_identity(
        rng, int(pid), outfits[pid - 1], *args, False, tracklet_length, occlusion_rate)]
    test = [t for pid in test_pids for t in _plan_identity(
        rng, int(pid), outfits[pid - 1], *args, True, tracklet_length, occlusion_rate)]
    test += _plan_extras(rng, JUNK_PID, "junk", num_junk, outfits[-num_junk:] if num_junk else [],
                         num_cameras, tracklet_length)
    test += _plan_extras(rng, DISTRACTOR_PID, "distractor", num_distractors, [], num_cameras, tracklet_length)
    train, test = _sort_by_name(train), _sort_by_name(test)

    info_dir = os.path.join(dataset_dir, "info")
    os.makedirs(info_dir)
    keypoint_dir = os.path.join(data_root, "keypoints")
    counts = {}
    for split, planned, list_name, variable in (("bbox_train", train, "train_name.txt", "track_train_info"),
                                                 ("bbox_test", test, "test_name.txt", "track_test_info")):
        table, names, keypoints = _write_split(dataset_dir, split, planned, styles, frame_size)
        with open(os.path.join(info_dir, list_name), "w") as f:
            f.write("\n".join(names) + "\n")
        savemat_v5(os.path.join(info_dir, f"tracks_{split[5:]}_info.mat"), variable, table)
        frame_list = FrameList(split, os.path.join(dataset_dir, split), [n[:4] + "/" + n for n in names])
        write_cache(keypoint_dir, DATASET_NAME, frame_list, keypoints, estimator=ESTIMATOR)
        counts[split] = (len(table), len(names))
        if split == "bbox_test":
            queries = _choose_queries(rng, table, queries_per_id)
            savemat_v5(os.path.join(info_dir, "query_IDX.mat"), "query_IDX",
                       (queries + 1).astype(np.uint16).reshape(1, -1))
    return SyntheticMarsSummary(dataset_dir, os.path.join(keypoint_dir, DATASET_NAME),
                                counts["bbox_train"][0], counts["bbox_test"][0], len(queries),
                                counts["bbox_train"][1], counts["bbox_test"][1],
                                time.perf_counter() - started)
