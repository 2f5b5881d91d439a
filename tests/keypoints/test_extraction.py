"""tools/extract_keypoints.py: kill and resume, shards, validation of the cache."""
import glob
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

from ctl_plugin.data.tracklets import FrameList
from ctl_plugin.keypoints.cache import KeypointCache, KeypointCacheError, no_pose_share

import numpy as np
import photos
import pytest
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO, "tools", "extract_keypoints.py")
NAME = "mmpose:td-hm_hrnet-w32_8xb64-210e_coco-256x192@128x64"
LISTS = {"train": photos.NUM_TRAIN, "test": photos.NUM_TEST}


def load_tool():
    spec = importlib.util.spec_from_file_location("extract_keypoints", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Data root with the tiny dataset, a config file and a random HRNet checkpoint."""
    root = tmp_path_factory.mktemp("data")
    photos.write_frames(str(root), photos.NUM_TRAIN + photos.NUM_TEST)
    torch.manual_seed(1)
    from ctl_plugin.keypoints.mmpose_estimator import build_pose_model
    checkpoint = root / "hrnet.pth"
    torch.save(build_pose_model("td-hm_hrnet-w32_8xb64-210e_coco-256x192")[0].state_dict(), checkpoint)
    config = root / "extract.yml"
    config.write_text(
        "DATASETS:\n  NAMES: ('TinyKeypointVideo',)\n  TESTS: ('TinyKeypointVideo',)\n"
        "MODEL:\n  DEVICE: cpu\n"
        f"KEYPOINTS:\n  MMPOSE:\n    CHECKPOINT: '{checkpoint}'\n    BATCH_SIZE: 2\n    INPUT_SIZE: [128, 64]\n"
        "  EXTRACT:\n    CHUNK_SIZE: 2\n    BATCH_SIZE: 2\n    NUM_WORKERS: 0\n")
    return root, config, load_tool()


def run(setup, cache, *extra, monkeypatch):
    root, config, tool = setup
    monkeypatch.setenv("FASTREID_DATASETS", str(root))
    return tool.main(["--config-file", str(config), "--no-progress", *extra, "KEYPOINTS.CACHE_DIR", str(cache)])


def read(cache):
    out = {}
    for name in LISTS:
        with open(os.path.join(cache, "TinyKeypointVideo", name + ".json")) as f:
            out[name] = (np.load(os.path.join(cache, "TinyKeypointVideo", name + ".npy")), json.load(f))
    return out


@pytest.fixture(scope="module")
def reference(setup, tmp_path_factory):
    cache = tmp_path_factory.mktemp("reference")
    with pytest.MonkeyPatch.context() as mp:
        status = run(setup, cache, monkeypatch=mp)
        assert [(s.frame_list, s.num_frames, s.state) for s in status] == [
            ("train", 14, "merged"), ("test", 6, "merged")]
        again = run(setup, cache, monkeypatch=mp)  # a finished cache is kept, not recomputed
        assert [s.state for s in again] == ["cached", "cached"]
    result = read(cache)
    for s in status + again:  # each split reports its share of frames without a pose
        assert s.no_pose == no_pose_share(result[s.frame_list][0])
        assert f"{100 * s.no_pose:.1f} % without a pose, {s.state}: " in str(s)
    return cache, result


def test_no_pose_share_counts_frames_whose_confidences_are_all_zero():
    points = np.ones((8, 17, 3), np.float32)
    points[[1, 4, 6], :, 2] = 0
    points[2, :16, 2] = 0  # one key-point found: a pose
    assert no_pose_share(points) == 3 / 8 and no_pose_share(np.zeros((0, 17, 3))) == 0.0


def test_reference_cache(reference, setup):
    cache, result = reference
    root = setup[0]
    for name, (array, info) in result.items():
        assert array.shape == (LISTS[name], 17, 3) and array.dtype == np.float32
        assert info["estimator"] == NAME and len(info["weights_sha256"]) == 64
        assert ((array[..., 2] >= 0) & (array[..., 2] <= 1)).all()
    # key-points are in each frame's own pixels: odd frames are 72 x 36, even 64 x 32
    train = result["train"][0]
    assert (train[0::2, :, 0] < 32).all() and (train[0::2, :, 1] < 64).all()
    assert (train[1::2, :, 0] <= 36).all() and train[1::2, :, 0].max() > 30
    assert not glob.glob(os.path.join(cache, "TinyKeypointVideo", "*.parts"))
    assert os.path.exists(os.path.join(root, "TinyKeypointVideo", "frames", "0000.png"))


def test_killed_then_resumed_equals_one_run(setup, reference, tmp_path, monkeypatch):
    root, config, _ = setup
    cache = tmp_path / "cache"
    parts = os.path.join(cache, "TinyKeypointVideo", "train.parts")
    code = ("import sys, importlib.util as u; sys.path.insert(0, %r); import photos; "
            "s = u.spec_from_file_location('t', %r); t = u.module_from_spec(s); s.loader.exec_module(t); "
            "t.main(sys.argv[1:])" % (os.path.dirname(os.path.abspath(__file__)), TOOL))
    env = dict(os.environ, FASTREID_DATASETS=str(root))
    proc = subprocess.Popen([sys.executable, "-c", code, "--config-file", str(config), "--no-progress",
                             "KEYPOINTS.CACHE_DIR", str(cache), "KEYPOINTS.EXTRACT.NUM_WORKERS", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(glob.glob(os.path.join(parts, "*.npy"))) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {p: os.stat(p).st_mtime_ns for p in glob.glob(os.path.join(parts, "*.npy"))}
    assert 2 <= len(before) < 7, "the run was to be killed mid-way through the train list"
    assert not os.path.exists(os.path.join(cache, "TinyKeypointVideo", "train.json"))
    with pytest.raises(KeypointCacheError, match="not found"):
        KeypointCache.open(str(cache), "TinyKeypointVideo", FrameList("train", "", []))

    seen = []
    from ctl_plugin.keypoints import extraction
    original = extraction.ChunkedCacheWriter.write_chunk
    monkeypatch.setattr(extraction.ChunkedCacheWriter, "write_chunk",
                        lambda self, start, kp: (seen.append(start), original(self, start, kp)))
    run(setup, cache, monkeypatch=monkeypatch)
    train_starts = set(range(0, 14, 2)) - {int(os.path.basename(p)[:-4]) for p in before}
    assert set(seen) == train_starts | set(range(0, 6, 2))  # no finished chunk recomputed
    result = read(cache)
    for name in LISTS:
        assert np.array_equal(result[name][0], reference[1][name][0])
        assert result[name][1] == reference[1][name][1]


def test_shards_merged_equal_one_run(setup, reference, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = run(setup, cache, "--shard", "0/2", monkeypatch=monkeypatch)
    assert [s.state for s in first] == ["partial", "partial"]
    parts = os.path.join(cache, "TinyKeypointVideo", "train.parts")
    assert sorted(os.listdir(parts)) == ["0000000000.npy", "0000000004.npy", "0000000008.npy",
                                         "0000000012.npy", "job.json"]
    run(setup, cache, "--shard", "1/2", monkeypatch=monkeypatch)
    merged = run(setup, cache, monkeypatch=monkeypatch)
    assert [s.state for s in merged] == ["merged", "merged"]
    result = read(cache)
    for name in LISTS:
        assert np.array_equal(result[name][0], reference[1][name][0])


def test_mismatched_cache_is_refused(setup, reference, tmp_path, monkeypatch):
    cache, result = reference
    dataset = photos.TinyKeypointVideo(root=str(setup[0]))
    train = dataset.frame_lists["train"]
    KeypointCache.open(str(cache), "TinyKeypointVideo", train, NAME, result["train"][1]["weights_sha256"])
    reordered = FrameList("train", train.root, list(reversed(train.relpaths)))
    with pytest.raises(KeypointCacheError, match="different frame list"):
        KeypointCache.open(str(cache), "TinyKeypointVideo", reordered)
    with pytest.raises(KeypointCacheError, match="estimator 'mmpose:td-hm"):
        KeypointCache.open(str(cache), "TinyKeypointVideo", train, "mediapipe:pose_landmark_full")
    with pytest.raises(KeypointCacheError, match="weights SHA-256"):
        KeypointCache.open(str(cache), "TinyKeypointVideo", train, NAME, "0" * 64)
    # extraction with other weights refuses the finished cache, and a partial one
    with pytest.raises(KeypointCacheError, match="Pass --overwrite"):
        run(setup, cache, "KEYPOINTS.MMPOSE.CHECKPOINT", "random", monkeypatch=monkeypatch)
    partial = tmp_path / "partial"
    run(setup, partial, "--shard", "0/2", monkeypatch=monkeypatch)
    with pytest.raises(KeypointCacheError, match="partial extraction with other weights_sha256"):
        run(setup, partial, "--shard", "1/2", "KEYPOINTS.MMPOSE.CHECKPOINT", "random", monkeypatch=monkeypatch)


def test_mediapipe_backend_writes_real_keypoints(setup, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    run(setup, cache, "--keypoints", "mediapipe", monkeypatch=monkeypatch)
    result = read(cache)
    assert result["train"][1]["estimator"] == "mediapipe:pose_landmark_full"
    array = result["train"][0]
    found = array[..., 2].max(-1) > 0
    assert found.any()
    # found people stand upright: the nose above the ankles' mean
    nose, ankles = array[found, 0, 1], array[found][:, 15:17, 1].mean(-1)
    assert (nose < ankles).all()


def test_a_second_extraction_into_the_same_cache_is_refused_while_one_runs(setup, tmp_path, monkeypatch):
    from ctl_plugin.io import FolderLockedError, ProcessLock
    cache = tmp_path / "cache"
    code = ("import sys, time; from ctl_plugin.io import ProcessLock; "
            "ProcessLock(sys.argv[1], 'extraction').acquire(); print('locked', flush=True); time.sleep(600)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(cache / ".extract.lock")], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(FolderLockedError, match=rf"'{cache}' is in use by another key-point extraction "
                                                    rf"into this cache \(pid {holder.pid}\)"):
            run(setup, cache, monkeypatch=monkeypatch)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert not os.path.exists(cache / "TinyKeypointVideo")  # nothing was written
    ProcessLock(str(cache / ".extract.lock"), "extraction", shared=True).acquire().release()
