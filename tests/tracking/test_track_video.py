"""tools/track_video.py on real footage: the first 100 frames of OpenCV's vtest.avi
(fetched by `make test` from Debian's opencv-doc; skipped when it is absent), linked by
DeepSORT on the ImageNet MobileNetV2's embeddings, and by IoU alone."""
import csv
import os

from ctl_plugin.config import build_cfg
from ctl_plugin.data.build import build_video_test_loader
from ctl_plugin.engine import VideoTrainer
from ctl_plugin.retrieval import extract_features

import numpy as np
import pytest
import torch

from tools import track_video

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

VIDEO = os.getenv("CTL_SAMPLE_VIDEO", os.path.join(REPO, "datasets", "samples", "vtest.avi"))
WIDTH, HEIGHT = 768, 576
FRAMES = 100
CONFIG = """
MODEL:
  META_ARCHITECTURE: CTL
  DEVICE: cpu
  BACKBONE: {NAME: build_resnet_backbone, DEPTH: 18x, FEAT_DIM: 512, PRETRAIN: False}
  HEADS: {NUM_CLASSES: 4}
INPUT: {SIZE_TRAIN: [128, 64], SIZE_TEST: [128, 64]}
DATASETS: {NAMES: [VideoFolder], TESTS: [VideoFolder]}
KEYPOINTS: {SOURCE: cache, CACHE_ESTIMATOR: "mediapipe:pose_landmark_full", CACHE_DIR: %s}
CTL: {CROSS_SCALE: {EMBED_DIM: 8}}
VIDEO: {TEST: {SEQ_LEN: 4, MODE: all, NUM_WORKERS: 0}}
TEST: {IMS_PER_BATCH: 8}
"""
# The linker's re-ID model: the shipped ImageNet MobileNetV2 at half size, for speed.
REID_CONFIG = """
_BASE_: %s
INPUT: {SIZE_TEST: [128, 64]}
"""

pytestmark = pytest.mark.skipif(not os.path.exists(VIDEO), reason=f"sample video {VIDEO} is absent "
                                "(make test fetches it from Debian's opencv-doc)")


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    root = tmp_path_factory.mktemp("vtest")
    config = root / "ctl.yml"
    config.write_text(CONFIG % (root / "keypoints"))
    reid_config = root / "reid.yml"
    reid_config.write_text(REID_CONFIG % os.path.join(REPO, "configs", "ImageNet_MobileNetV2.yml"))
    tracks, csv_path = track_video.main(["--video", VIDEO, "--root", str(root), "--max-frames", str(FRAMES),
                                         "--frame-step", "2", "--keypoints", "mediapipe", "--no-progress",
                                         "--preview", str(root / "preview.png"), "--config-file", str(config),
                                         "--reid-config", str(reid_config), "--device", "cpu"])
    return root, config, tracks, read_rows(csv_path)


def read_rows(csv_path):
    with open(csv_path) as f:
        return list(csv.DictReader(f))


def check_tracklet_rows(rows, tracks):
    """Person-shaped boxes inside the frame, one run of consecutive frames per tracklet."""
    boxes = np.array([[float(r[k]) for k in ("x1", "y1", "x2", "y2")] for r in rows])
    assert (boxes[:, 3] - boxes[:, 1] > boxes[:, 2] - boxes[:, 0]).all()  # taller than wide
    assert (boxes[:, 3] - boxes[:, 1] <= 0.5 * HEIGHT + 1).all()  # --max-height
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= WIDTH).all() and (boxes[:, 3] <= HEIGHT).all()
    by_track = {}
    for r in rows:
        by_track.setdefault(r["tracklet"], []).append(int(r["frame"]))
    assert len(by_track) == len(tracks)
    for frames_of in by_track.values():
        assert len(frames_of) >= 8 and frames_of == list(range(frames_of[0], frames_of[0] + len(frames_of)))
        assert 0 <= frames_of[0] and frames_of[-1] < FRAMES


def test_several_person_shaped_tracklets_inside_the_frame(tracked):
    root, _, tracks, rows = tracked
    assert len(tracks) >= 5
    check_tracklet_rows(rows, tracks)
    for track in tracks:  # confirmed by DeepSORT: at least n_init = 3 detections, on detection frames
        assert len(track.frames) >= 3 and all(f % 2 == 0 for f in track.frames)
    detected = [r for r in rows if r["detected"] == "1"]
    assert len(detected) == sum(len(t.frames) for t in tracks)
    assert (root / "preview.png").stat().st_size > 0


def test_keypoints_estimated_in_context_lie_in_their_crops_and_fill_the_cache(tracked):
    root, config, _, rows = tracked
    points = np.array([[float(r[f"kp{k}_{v}"]) for k in range(17) for v in "xyc"] for r in rows]).reshape(-1, 17, 3)
    height, width = 128, 64  # INPUT.SIZE_TEST of the split's config
    assert (points[..., 0] <= width - 1).all() and (points[..., 1] <= height - 1).all() and (points >= 0).all()
    with_pose = points[..., 2].max(-1) > 0
    assert with_pose.mean() > 0.8  # context crops: 98 % of the hand-checked people of the clip
    # a pose's hips lie below its shoulders, inside the crop (COCO 5, 6 shoulders; 11, 12 hips)
    posed = points[with_pose]
    assert (posed[:, [11, 12], 1].mean(1) > posed[:, [5, 6], 1].mean(1)).mean() > 0.9
    cache = np.load(root / "keypoints" / "VideoFolder" / "gallery.npy")
    assert cache.shape == (len(rows), 17, 3) and ((cache[..., 2].max(-1) > 0).mean() == with_pose.mean())


def test_iou_linking_is_kept_for_comparison_and_scored_against_ground_truth(tmp_path, capsys):
    """--gt: a ground truth of one person box on frames 1-100 and one past --max-frames."""
    gt = tmp_path / "gt.txt"
    gt.write_text("".join(f"{t},1,300,200,40,100,1,1,1\n" for t in range(1, 101)) + "500,2,0,0,40,100,1,1,1\n")
    tracks, csv_path, scores = track_video.main(
        ["--video", VIDEO, "--root", str(tmp_path), "--max-frames", str(FRAMES), "--frame-step", "2",
         "--linker", "iou", "--no-progress", "--gt", str(gt)])
    assert len(tracks) >= 5
    check_tracklet_rows(read_rows(csv_path), tracks)
    assert set(scores) == {"HOTA", "IDF1", "MOTA", "IDSW"}
    assert 0 <= scores["HOTA"] < 1 and 0 <= scores["IDF1"] < 1 and scores["MOTA"] < 1  # boxes the person lacks
    assert "HOTA (%)    IDF1 (%)    MOTA (%)    IDSW" in capsys.readouterr().out


def test_annotated_person_boxes_are_ground_truth_on_their_frames(tmp_path):
    """--gt boxes.json: scored on the annotated frames the run reaches, with its ignore regions;
    a file read before tracking, so that a bad one fails at once."""
    truth = track_video.read_ground_truth(os.path.join(REPO, "tests", "fixtures", "vtest_person_boxes.json"), 100)
    assert truth["frames"] == [1, 34, 67, 100] and len(truth["gt"][34][0]) == 2 and len(truth["ignore"][34]) == 1
    gt = tmp_path / "gt.txt"
    gt.write_text("1,1,300,200,40,100,1,1,1\n5,1,300,200,40,100,1,1,1\n")
    assert sorted(track_video.read_ground_truth(str(gt), 3)["gt"]) == [1]
    boxes = tmp_path / "boxes.json"
    boxes.write_text('{"frames": {"200": {"person": [], "person_ids": [], "ignore": []}}}')
    with pytest.raises(ValueError, match="no annotated frame among the video's first 100"):
        track_video.read_ground_truth(str(boxes), 100)
    boxes.write_text('{"frames": {"0": {"person": [[1, 2, 5, 9]], "ignore": []}}}')
    with pytest.raises(ValueError, match="frame 0: expected 'person_ids'"):
        track_video.main(["--video", VIDEO, "--root", str(tmp_path), "--max-frames", "2", "--no-progress",
                          "--gt", str(boxes)])
    assert not (tmp_path / "video-folder").exists()


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
