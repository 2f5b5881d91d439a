"""tools/query.py end to end on a VideoFolder gallery with a tiny saved model."""
import os

from ctl_plugin.config import build_cfg
from ctl_plugin.engine import VideoTrainer
from ctl_plugin.visualization import ranklist

import numpy as np
import pytest
import torch
from fastreid.utils.compute_dist import build_dist
from PIL import Image

from tests.fixtures.video_datasets import write_frame
from tools import query

CONFIG = """
MODEL:
  META_ARCHITECTURE: VideoBaseline
  DEVICE: cpu
  BACKBONE: {DEPTH: 18x, FEAT_DIM: 512, PRETRAIN: False}
  HEADS: {NUM_CLASSES: 4}
INPUT: {SIZE_TRAIN: [64, 32], SIZE_TEST: [64, 32]}
VIDEO: {TEST: {SEQ_LEN: 4, NUM_WORKERS: 0}}
TEST: {IMS_PER_BATCH: 4}
OUTPUT_DIR: %s
"""


@pytest.fixture
def gallery(tmp_path, monkeypatch):
    for pid in range(5):
        for cam in (0, 1):
            for i in range(3 + pid):
                write_frame(str(tmp_path / "video-folder" / "gallery" / str(pid) / str(cam) / "t" / f"{i:03d}.jpg"),
                            pid, i + 3 * cam)
    monkeypatch.setenv("FASTREID_DATASETS", str(tmp_path))
    config = tmp_path / "baseline.yml"
    config.write_text(CONFIG % (tmp_path / "out"))
    torch.manual_seed(0)
    model = VideoTrainer.build_model(build_cfg(str(config), ["MODEL.BACKBONE.PRETRAIN", "False"]))
    torch.save({"model": model.state_dict()}, tmp_path / "model.pth")
    return tmp_path, config


def run(root, config, *extra):
    return query.main(["--config-file", str(config), "--query", str(root / "video-folder/gallery/3/1/t"),
                       "--gallery", "VideoFolder", "--topk", "4", *extra, "MODEL.WEIGHTS", str(root / "model.pth")])


def test_query_ranks_the_gallery_and_draws_the_rank_list(gallery, capsys):
    root, config = gallery
    distances, indices = run(root, config, "--query-pid", "3", "--output", str(root / "ranks.png"))
    feats = np.load(root / "out" / "features" / "VideoFolder-gallery.npy")
    expected = build_dist(torch.from_numpy(feats[7:8]), torch.from_numpy(feats), "cosine")[0]  # item 7 is 3/1/t
    order = [g for g in np.argsort(expected) if g != 7][:4]  # the query itself is left out
    np.testing.assert_array_equal(indices, order)
    np.testing.assert_allclose(distances, expected[order], atol=1e-5)
    rows = [line for line in capsys.readouterr().out.splitlines() if "video-folder/gallery/" in line]
    assert len(rows) == 4 and all("gallery/3/1/t" not in r for r in rows)
    assert [r.endswith("yes") for r in rows] == [i in (6,) for i in indices]  # 3/0/t is the only match
    picture = np.asarray(Image.open(root / "ranks.png").convert("RGB"))
    assert picture.shape[:2] == ranklist.rank_list_size(4, 1, 4, (32, 16))
    first = ranklist.GREEN if indices[0] == 6 else ranklist.RED
    assert tuple(picture[14, ranklist.rank_list_size(4, 1, 0, (32, 16))[1] + 6]) == first  # its top-left border
    assert os.path.exists(root / "out" / "features" / "VideoFolder-gallery.npy")


def test_gallery_features_are_read_back_from_the_cache(gallery, monkeypatch):
    root, config = gallery
    first = run(root, config)
    counted = []
    original = query.extract_features
    monkeypatch.setattr(query, "extract_features", lambda m, loader: counted.append(len(loader.dataset))
                        or original(m, loader))
    second = run(root, config, "--output", str(root / "grey.png"))
    assert counted == [1]  # only the query
    np.testing.assert_allclose(second[0], first[0], atol=1e-6)
    picture = np.asarray(Image.open(root / "grey.png").convert("RGB"))
    assert tuple(picture[14, ranklist.rank_list_size(4, 1, 0, (32, 16))[1] + 6]) == ranklist.UNKNOWN


def test_query_keypoints_come_from_the_gallery_estimator(gallery, monkeypatch):
    root, _ = gallery
    span, _, _ = query.query_tracklet(str(root / "video-folder/gallery/2/0/t"))

    class Estimator:
        name, weights_sha256 = "mediapipe:pose_landmark_full", ""

        def estimate(self, frames):  # x, y count up frame by frame, confidence 0.5
            kps = np.full((len(frames), 17, 3), 0.5, np.float32)
            kps[..., :2] = np.arange(len(frames) * 34).reshape(len(frames), 17, 2)
            return kps

    monkeypatch.setattr("ctl_plugin.keypoints.build_offline_estimator", lambda cfg: Estimator())
    cfg = build_cfg(None, ["KEYPOINTS.SOURCE", "cache", "KEYPOINTS.CACHE_ESTIMATOR", "mediapipe:pose_landmark_full"])
    caches = query.query_keypoints(cfg, span.frames)
    np.testing.assert_array_equal(caches[span.frames].lookup([1])[0, :, :2], np.arange(34, 68).reshape(17, 2))
    cfg.KEYPOINTS.CACHE_ESTIMATOR = "ground-truth"
    with pytest.raises(ValueError,
                       match="KEYPOINTS.CACHE_ESTIMATOR: the gallery's key-points come from 'ground-truth'"):
        query.query_keypoints(cfg, span.frames)
    assert query.query_keypoints(build_cfg(None), span.frames) is None


def test_bad_query_folders_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="'.*nowhere' is not a folder"):
        query.query_tracklet(str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="holds no frames"):
        query.query_tracklet(str(tmp_path))
