"""tools/track_video.py on real footage: the first 200 frames of OpenCV's vtest.avi
(fetched by `make test` from Debian's opencv-doc; skipped when it is absent)."""
import csv
import os


import numpy as np
import pytest
import torch

from ctl_plugin.config import build_cfg
from ctl_plugin.data.build import build_video_test_loader
from ctl_plugin.engine import VideoTrainer
from ctl_plugin.retrieval import extract_features
from tools import track_video

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

VIDEO = os.getenv("CTL_SAMPLE_VIDEO", os.path.join(REPO, "datasets", "samples", "vtest.avi"))
WIDTH, HEIGHT = 768, 576
CONFIG = """
MODEL:
  META_ARCHITECTURE: CTL
  DEVICE: cpu
  BACKBONE: {NAME: build_ctl_resnet_backbone, DEPTH: 18x, FEAT_DIM: 512, PRETRAIN: False}
  HEADS: {NUM_CLASSES: 4}
INPUT: {SIZE_TRAIN: [128, 64], SIZE_TEST: [128, 64]}
DATASETS: {NAMES: [VideoFolder], TESTS: [VideoFolder]}
KEYPOINTS: {SOURCE: cache, CACHE_ESTIMATOR: "mediapipe:pose_landmark_full", CACHE_DIR: %s}
CTL: {CROSS_SCALE: {EMBED_DIM: 8}}
VIDEO: {TEST: {SEQ_LEN: 4, MODE: all, NUM_WORKERS: 0}}
TEST: {IMS_PER_BATCH: 8}
"""

pytestmark = pytest.mark.skipif(not os.path.exists(VIDEO), reason=f"sample video {VIDEO} is absent "
                                "(make test fetches it from Debian's opencv-doc)")


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    root = tmp_path_factory.mktemp("vtest")
    config = root / "ctl.yml"
    config.write_text(CONFIG % (root / "keypoints"))
    tracks, csv_path = track_video.main(["--video", VIDEO, "--root", str(root), "--max-frames", "200",
                                         "--frame-step", "2", "--keypoints", "mediapipe", "--no-progress",
                                         "--preview", str(root / "preview.png"), "--config-file", str(config)])
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    return root, config, tracks, rows


def test_several_person_shaped_tracklets_inside_the_frame(tracked):
    root, _, tracks, rows = tracked
    assert len(tracks) >= 5
    boxes = np.array([[float(r[k]) for k in ("x1", "y1", "x2", "y2")] for r in rows])
    assert (boxes[:, 3] - boxes[:, 1] > boxes[:, 2] - boxes[:, 0]).all()  # taller than wide
    assert (boxes[:, 3] - boxes[:, 1] <= 0.5 * HEIGHT + 1).all()  # --max-height
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= WIDTH).all() and (boxes[:, 3] <= HEIGHT).all()
    by_track = {}
    for r in rows:
        by_track.setdefault(r["tracklet"], []).append(int(r["frame"]))
    assert len(by_track) == len(tracks)
    for frames in by_track.values():
        assert len(frames) >= 8 and frames == list(range(frames[0], frames[0] + len(frames)))  # consecutive
        assert 0 <= frames[0] and frames[-1] < 200
    assert (root / "preview.png").stat().st_size > 0


def test_refuses_to_overwrite_earlier_tracklets(tracked):
    root = tracked[0]
    with pytest.raises(FileExistsError, match="--overwrite"):
        track_video.main(["--video", VIDEO, "--root", str(root), "--max-frames", "2", "--no-progress"])


def test_ctl_features_of_the_tracklets(tracked, monkeypatch):
    root, config, tracks, _ = tracked
    monkeypatch.setenv("FASTREID_DATASETS", str(root))
    cfg = build_cfg(str(config))
    torch.manual_seed(0)
    model = VideoTrainer.build_model(cfg)
    loader, num_query = build_video_test_loader(cfg, "VideoFolder")
    feats, pids, camids = extract_features(model, loader)
    assert num_query == 0 and feats.shape == (len(tracks), cfg.MODEL.BACKBONE.FEAT_DIM)
    assert torch.isfinite(feats).all()
    assert sorted(pids.tolist()) == list(range(len(tracks))) and set(camids.tolist()) == {0}
    assert torch.cdist(feats, feats).fill_diagonal_(1.0).min() > 0  # every tracklet has its own feature
