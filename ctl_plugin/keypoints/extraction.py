"""Offline key-point extraction into the cache (`tools/extract_keypoints.py`).

An estimator is any object with `name`, `weights_sha256` and
`estimate(frames) -> float32 [n, 17, 3]` (RGB uint8 frames, key-points in each
frame's pixels): `MmposeHeatmaps` or `MediapipePose`. Frames are read by
DataLoader workers in chunk-aligned batches; every finished chunk is written at
once, so a killed run resumes where it stopped, and shards own disjoint chunks.
"""
import os
import shutil
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from ..io import ProcessLock, read_frame
from .cache import ChunkedCacheWriter, KeypointCache, KeypointCacheError, cache_paths, no_pose_share


class _FrameReader(torch.utils.data.Dataset):
    def __init__(self, frame_list):
        self.frame_list = frame_list

    def __len__(self):
        return len(self.frame_list)

    def __getitem__(self, index):
        return read_frame(self.frame_list.path(index))


def _as_list(frames):
    return frames


def _batches(chunks, batch_size):
    """Frame-index batches that never straddle two chunks."""
    return [list(range(s, min(s + batch_size, stop))) for start, stop in chunks
            for s in range(start, stop, batch_size)]


@dataclass
class SplitStatus:
    dataset: str
    frame_list: str
    num_frames: int
    state: str  # "cached" (valid cache found), "merged" (written now) or "partial"
    path: str
    no_pose: float = float("nan")  # share of frames without a pose (not known for "partial")

    def __str__(self):
        pose = "" if self.no_pose != self.no_pose else f", {100 * self.no_pose:.1f} % without a pose"
        return f"{self.dataset}/{self.frame_list}: {self.num_frames} frames{pose}, {self.state}: {self.path}"


def cached_no_pose(path):
    """`no_pose_share` of a cache array on disk."""
    return no_pose_share(np.load(path, mmap_mode="r"))


def open_writer(cache_dir, dataset_name, frame_list, estimator, chunk_size, overwrite=False):
    """A `ChunkedCacheWriter` for `frame_list`, or None when a matching cache exists.
    An existing cache made for other frames or by another estimator is an error
    unless `overwrite`."""
    sidecar_path = cache_paths(cache_dir, dataset_name, frame_list.name)[1]
    if os.path.exists(sidecar_path):
        try:
            cache = KeypointCache.open(cache_dir, dataset_name, frame_list, estimator.name)
            if cache.info.weights_sha256 != estimator.weights_sha256:
                raise KeypointCacheError(
                    f"key-point cache '{cache.path}' was made with weights SHA-256 "
                    f"'{cache.info.weights_sha256}', not '{estimator.weights_sha256}'")
            if not overwrite:
                return None
        except KeypointCacheError as e:
            if not overwrite:
                raise KeypointCacheError(f"{e}. Pass --overwrite to replace it") from e
        os.remove(sidecar_path)  # the array alone reads as incomplete until the merge
    if overwrite:
        shutil.rmtree(ChunkedCacheWriter.parts_dir_of(cache_dir, dataset_name, frame_list), ignore_errors=True)
    return ChunkedCacheWriter(cache_dir, dataset_name, frame_list, estimator.name,
                              estimator.weights_sha256, chunk_size)


def extract(frame_lists, estimator, cache_dir, chunk_size, batch_size, shard=(0, 1), num_workers=0,
            overwrite=False, progress=True):
    """Extract every frame list of `frame_lists` ({dataset name: [FrameList, ...]}), each into
    its cache <cache_dir>/<dataset name>/<frame list name>.

    shard: (i, n): this process does chunks k with k % n == i. With n == 1 each
    complete frame list is merged into its cache; shards leave their chunks for a
    final run without a shard to merge. Returns a `SplitStatus` per frame list.
    """
    index, count = shard
    # shards of one job write disjoint chunks side by side; a run that merges works alone
    lock = ProcessLock(os.path.join(cache_dir, ".extract.lock"), "key-point extraction into this cache",
                       shared=count > 1).acquire()
    try:
        return _extract(frame_lists, estimator, cache_dir, chunk_size, batch_size, shard, num_workers,
                        overwrite, progress)
    finally:
        lock.release()


def _extract(frame_lists, estimator, cache_dir, chunk_size, batch_size, shard, num_workers, overwrite, progress):
    index, count = shard
    jobs, status = [], []
    for dataset_name, lists in frame_lists.items():
        for frame_list in lists:
            writer = open_writer(cache_dir, dataset_name, frame_list, estimator, chunk_size, overwrite)
            if writer is None:
                path = cache_paths(cache_dir, dataset_name, frame_list.name)[0]
                status.append(SplitStatus(dataset_name, frame_list.name, len(frame_list), "cached", path,
                                          cached_no_pose(path)))
                continue
            jobs.append((dataset_name, frame_list, writer, writer.pending(index, count)))
    total = sum(stop - start for *_, pending in jobs for start, stop in pending)
    bar = tqdm(total=total, unit="frame", disable=not progress, dynamic_ncols=True,
               desc=f"{estimator.name} shard {index}/{count}")
    for dataset_name, frame_list, writer, pending in jobs:
        bar.set_postfix_str(f"{dataset_name}/{frame_list.name}")
        _extract_chunks(frame_list, writer, pending, estimator, batch_size, num_workers, bar)
        if count == 1:
            path = writer.merge()
            status.append(SplitStatus(dataset_name, frame_list.name, len(frame_list), "merged", path,
                                      cached_no_pose(path)))
        else:
            status.append(SplitStatus(dataset_name, frame_list.name, len(frame_list), "partial", writer.parts_dir))
    bar.close()
    return status


def _extract_chunks(frame_list, writer, chunks, estimator, batch_size, num_workers, bar):
    if not chunks:
        return
    loader = torch.utils.data.DataLoader(_FrameReader(frame_list), batch_sampler=_batches(chunks, batch_size),
                                         num_workers=num_workers, collate_fn=_as_list)
    batches = iter(loader)
    for start, stop in chunks:
        rows, done = [], 0
        while done < stop - start:
            frames = next(batches)
            rows.append(estimator.estimate(frames))
            done += len(frames)
            bar.update(len(frames))
        writer.write_chunk(start, np.concatenate(rows))
