"""The key-point cache is checked for content, not only for names: NaN, confidences outside
[0, 1], a truncated array, frames replaced under the same names, random weights."""
import os
import time

from ctl_plugin.data.datasets.mars import MARS
from ctl_plugin.keypoints.cache import (
    RANDOM_WEIGHTS,
    KeypointCache,
    KeypointCacheError,
    cache_paths,
    fingerprint_sample,
    write_cache,
)

import numpy as np
import pytest

from tests.fixtures import video_datasets


@pytest.fixture
def cache(tmp_path):
    video_datasets.make_mars(str(tmp_path))
    frames = MARS(root=str(tmp_path)).frame_lists["bbox_test"]
    kps = np.zeros((len(frames), 17, 3), np.float32)
    kps[..., 2] = 0.5
    write_cache(str(tmp_path / "kp"), "MARS", frames, kps, "test")
    return str(tmp_path / "kp"), frames, kps


def open_(cache_dir, frames, **kw):
    return KeypointCache.open(cache_dir, "MARS", frames, **kw)


def rewrite_array(cache_dir, frames, kps):
    np.save(cache_paths(cache_dir, "MARS", frames.name)[0], kps)


@pytest.mark.parametrize("value, message", [
    (np.nan, r"frame 7 holds non-finite key-points"),
    (100.0, r"frame 7 holds confidences .*100.*expected values in \[0, 1\]"),
    (-0.5, r"frame 7 holds confidences -0.5"),
])
def test_bad_values_are_refused_naming_the_file_and_frame(cache, value, message):
    cache_dir, frames, kps = cache
    bad = kps.copy()
    bad[7, 3, 2] = value
    rewrite_array(cache_dir, frames, bad)
    with pytest.raises(KeypointCacheError, match=rf"bbox_test.npy'.*{message}"):
        open_(cache_dir, frames)
    with pytest.raises(KeypointCacheError, match=message):  # and they are never written
        write_cache(cache_dir, "MARS", frames, bad, "test")


def test_a_truncated_array_names_the_file(cache):
    cache_dir, frames, _ = cache
    path = cache_paths(cache_dir, "MARS", frames.name)[0]
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    with pytest.raises(KeypointCacheError, match=rf"'{path}' cannot be read .*truncated or damaged"):
        open_(cache_dir, frames)


def test_frames_replaced_under_the_same_names_are_noticed(cache):
    cache_dir, frames, _ = cache
    open_(cache_dir, frames)
    victim = frames.path(int(fingerprint_sample(frames)[3]))
    time.sleep(0.01)
    video_datasets.write_frame(victim, 99, 1)  # another picture, same name
    with pytest.raises(KeypointCacheError, match="other sizes or modification times of its frame files"):
        open_(cache_dir, frames)
    with pytest.raises(KeypointCacheError, match="bytes of its frame files differ"):
        KeypointCache.revalidate(cache_dir, "MARS", frames)


def test_copied_frames_are_revalidated_by_their_bytes(cache):
    cache_dir, frames, _ = cache
    for i in range(len(frames)):  # the same bytes, new modification times (a copy)
        os.utime(frames.path(i), ns=(1, 10 ** 9 + i))
    with pytest.raises(KeypointCacheError, match="--revalidate"):
        open_(cache_dir, frames)
    assert KeypointCache.revalidate(cache_dir, "MARS", frames) is True
    assert KeypointCache.revalidate(cache_dir, "MARS", frames) is False
    assert open_(cache_dir, frames).array.shape == (len(frames), 17, 3)


def test_random_weight_caches_are_refused_for_training_only(cache):
    cache_dir, frames, kps = cache
    write_cache(cache_dir, "MARS", frames, kps, "mmpose:hrnet", weights_sha256=RANDOM_WEIGHTS)
    assert open_(cache_dir, frames).info.weights_sha256 == RANDOM_WEIGHTS
    with pytest.raises(KeypointCacheError, match="random weights, which are meaningless for training"):
        open_(cache_dir, frames, for_training=True)


def test_the_weights_are_checked_when_asked(cache):
    cache_dir, frames, kps = cache
    write_cache(cache_dir, "MARS", frames, kps, "mmpose:hrnet", weights_sha256="a" * 64)
    open_(cache_dir, frames, weights_sha256="a" * 64)
    with pytest.raises(KeypointCacheError, match="weights SHA-256 'a+' .expected 'b+'"):
        open_(cache_dir, frames, weights_sha256="b" * 64)


def test_rows_reordered_after_extraction_are_refused(cache):
    """One tracklet's rows reversed, frames and names unchanged: each frame would get another
    frame's key-points; the sidecar's SHA-1 of the array notices."""
    cache_dir, frames, _ = cache
    kps = np.random.default_rng(0).uniform(0, 1, (len(frames), 17, 3)).astype(np.float32)
    write_cache(cache_dir, "MARS", frames, kps, "test")
    assert open_(cache_dir, frames).lookup([3])[0].tolist() == kps[3].tolist()
    reordered = kps.copy()
    reordered[2:6] = kps[2:6][::-1]
    rewrite_array(cache_dir, frames, reordered)
    with pytest.raises(KeypointCacheError, match=r"bbox_test.npy': its content differs from what was extracted"):
        open_(cache_dir, frames)


@pytest.mark.parametrize("which", ["array", "sidecar"])
def test_an_empty_cache_file_names_the_file(cache, which):
    cache_dir, frames, _ = cache
    path = cache_paths(cache_dir, "MARS", frames.name)[0 if which == "array" else 1]
    open(path, "wb").close()
    with pytest.raises(KeypointCacheError, match=rf"'{path}'"):
        open_(cache_dir, frames)
