"""ctl_plugin.tracking: IoU linking with gaps, DeepSORT through a crossing, re-ID embeddings
of detections, crops, the VideoFolder it writes."""
import csv
import os

from ctl_plugin.config import build_cfg
from ctl_plugin.data.datasets.video_folder import VideoFolder
from ctl_plugin.tracking import (
    DeepSortTracker,
    HogPeopleDetector,
    IouTracker,
    build_reid_embedder,
    next_pid,
    read_frames,
    remove_tracklets,
    video_info,
    video_tracklets,
    write_tracklets,
)
from ctl_plugin.tracking.tracklet_writer import crop
from ctl_plugin.visualization.tracks import busiest_frame, draw_tracks

import cv2
import numpy as np
import pytest
import torch

from tests.keypoints import photos

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def walker(x0, y0, step):
    return lambda f: np.array([x0 + step * f, y0, x0 + step * f + 20, y0 + 50], np.float32)


def test_tracker_links_two_walkers_and_interpolates_gaps():
    left, right = walker(0, 0, 2), walker(200, 10, -2)
    tracker = IouTracker(min_iou=0.3, max_gap=3, min_length=4)
    for f in range(12):
        boxes = [right(f)] if f in (5, 6) else [left(f), right(f)]  # left walker missed twice
        tracker.update(f, boxes, np.ones(len(boxes)))
    tracks = tracker.finish()
    assert len(tracks) == 2
    frames, boxes, detected = tracks[0].dense()
    np.testing.assert_array_equal(frames, np.arange(12))
    np.testing.assert_allclose(boxes, np.stack([left(f) for f in range(12)]), atol=1e-5)  # linear fill
    assert detected.tolist() == [f not in (5, 6) for f in range(12)]
    assert len(tracks[1]) == 12 and tracks[1].frames == list(range(12))


def test_tracker_ends_tracks_after_max_gap_and_drops_short_ones():
    box = walker(0, 0, 1)
    tracker = IouTracker(min_iou=0.3, max_gap=1, min_length=3)
    for f in [0, 1, 2, 3, 6, 7, 8, 9, 20]:  # gap of 2 frames > max_gap: a new track; frame 20 alone
        tracker.update(f, [box(f)], [1.0])
    tracks = tracker.finish()
    assert [(t.first, t.last) for t in tracks] == [(0, 3), (6, 9)]
    assert tracks[0].track_id != tracks[1].track_id
    with pytest.raises(ValueError, match="frames must increase"):
        tracker.update(20, [], [])


def test_detector_finds_nobody_in_a_blank_frame():
    boxes, scores = HogPeopleDetector()(np.full((240, 320, 3), 128, np.uint8))
    assert boxes.shape == (0, 4) and scores.shape == (0,)


def test_crop_pads_outside_the_frame_with_black():
    frame = np.arange(10 * 10 * 3, dtype=np.uint8).reshape(10, 10, 3)
    out = crop(frame, np.array([-2, 4, 2, 8]), (4, 4))  # 4 x 4 box, half outside
    assert out.shape == (4, 4, 3)
    np.testing.assert_array_equal(out[:, :2], 0)
    np.testing.assert_array_equal(out[:, 2:], frame[4:8, 0:2])


def test_written_tracklets_load_as_a_video_folder(tmp_path):
    frames = [(i, np.full((120, 160, 3), 10 * i, np.uint8)) for i in range(10)]
    tracker = IouTracker(min_length=5)
    for f in range(10):
        tracker.update(f, [walker(5, 5, 3)(f), walker(120, 40, -1)(f)], [1.0, 0.5])
    tracks = tracker.finish()
    split = tmp_path / "video-folder" / "gallery"
    csv_path = write_tracklets(iter(frames), tracks, str(split), camid=2, pid_start=7, size=(32, 16), prefix="cam_")
    ds = VideoFolder(root=str(tmp_path))
    assert [(len(s), p, c) for s, p, c in ds.gallery] == [(10, 7, 2), (10, 8, 2)]
    span = ds.gallery[0][0]
    assert span.path(3).endswith("7/2/cam_0000/000003.jpg")
    crop3 = cv2.imread(span.path(3))
    assert crop3.shape == (32, 16, 3) and abs(int(crop3.mean()) - 30) <= 2  # frame 3 is all 30
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 20 and rows[0]["tracklet"] == "cam_0000" and rows[0]["pid"] == "7"
    assert [float(rows[3][k]) for k in ("x1", "y1", "x2", "y2")] == pytest.approx([14, 5, 34, 55])


def test_a_videos_tracklets_are_found_replaced_and_numbered_after_the_split(tmp_path):
    frames = [(i, np.zeros((60, 80, 3), np.uint8)) for i in range(6)]
    tracker = IouTracker(min_length=3)
    for f in range(6):
        tracker.update(f, [walker(5, 5, 2)(f)], [1.0])
    tracks, split = tracker.finish(), str(tmp_path / "gallery")
    assert next_pid(split) == 0 and video_tracklets(split, 0, "a_") == []
    write_tracklets(iter(frames), tracks, split, camid=0, pid_start=0, size=(8, 4), prefix="a_")
    write_tracklets(iter(frames), tracks, split, camid=1, pid_start=1, size=(8, 4), prefix="a_")
    write_tracklets(iter(frames), tracks, split, camid=0, pid_start=2, size=(8, 4), prefix="b_")
    assert next_pid(split) == 3
    found = video_tracklets(split, 0, "a_")
    assert [os.path.relpath(f, split) for f in found] == [os.path.join("0", "0", "a_0000")]
    remove_tracklets(found)
    assert sorted(os.listdir(split)) == ["1", "2"]  # pid 0 held nothing else, so it went too
    assert video_tracklets(split, 1, "a_") and video_tracklets(split, 0, "b_")


def test_video_frames_and_size_and_a_clear_error_for_a_missing_file(tmp_path):
    path = str(tmp_path / "v.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for i in range(5):
        writer.write(np.full((24, 32, 3), 40 * i, np.uint8))
    writer.release()
    assert video_info(path) == (5, 32, 24)
    frames = list(read_frames(path, max_frames=3))
    assert [i for i, _ in frames] == [0, 1, 2] and frames[0][1].shape == (24, 32, 3)
    assert abs(int(frames[2][1].mean()) - 80) <= 3
    with pytest.raises(FileNotFoundError, match="nope.avi"):
        video_info(str(tmp_path / "nope.avi"))


def test_the_preview_draws_the_busiest_frame(tmp_path):
    tracker = IouTracker(min_length=2)
    for f in range(8):
        tracker.update(f, [walker(5, 40, 2)(f)] + ([walker(100, 40, -2)(f)] if 3 <= f <= 5 else []), [1.0] * 2)
    tracks = tracker.finish()
    assert busiest_frame(tracks) == (3, 2)
    frames = [(i, np.zeros((120, 160, 3), np.uint8)) for i in range(8)]
    draw_tracks(iter(frames), tracks, str(tmp_path / "p" / "preview.png"))
    picture = cv2.imread(str(tmp_path / "p" / "preview.png"))
    assert picture.shape == (120, 160, 3)
    for start, step in ((5, 2), (100, -2)):  # both live at frame 3: box outline drawn, inside untouched
        x1, y1, x2, y2 = np.round(walker(start, 40, step)(3)).astype(int)
        assert picture[y1, x1:x2].any(axis=1).all() and not picture[y1 + 5:y2 - 5, x1 + 5:x2 - 5].any()


def crossing(frames=20, hidden=(9, 10, 11)):
    """Walker A goes right, B left, on the same line; they meet at frame 10, where B hides
    A for `hidden` frames. Each detection carries its walker's appearance (a unit vector
    plus noise). Returns per frame (boxes, scores, embeddings, walker of each box)."""
    rng = np.random.default_rng(0)
    looks = np.eye(8, dtype=np.float32)[:2]
    steps = []
    for f in range(frames):
        walkers = [1] if f in hidden else [0, 1]
        boxes = np.stack([walker(0, 0, 4)(f) if w == 0 else walker(80, 0, -4)(f) for w in walkers])
        embeds = looks[walkers] + 0.05 * rng.standard_normal((len(walkers), 8)).astype(np.float32)
        steps.append((boxes, np.ones(len(walkers)), embeds, walkers))
    return steps


def walkers_of(track, steps):
    """The walker whose box each of the track's detections is."""
    out = []
    for f, box in zip(track.frames, track.boxes):
        boxes, _, _, walkers = steps[f]
        out.append(walkers[int(np.argmin(np.abs(boxes - box).sum(1)))])
    return out


def test_deepsort_keeps_identities_through_an_occluded_crossing_where_iou_swaps_them():
    steps = crossing()
    deepsort = DeepSortTracker(max_age=5, n_init=3, max_cosine_distance=0.2, min_length=4)
    iou = IouTracker(min_iou=0.3, max_gap=5, min_length=4)
    for f, (boxes, scores, embeds, _) in enumerate(steps):
        deepsort.update(f, boxes, scores, embeds)
        iou.update(f, boxes, scores)
    tracks = deepsort.finish()
    assert [(t.first, t.last) for t in tracks] == [(0, 19), (0, 19)]
    assert [set(walkers_of(t, steps)) for t in tracks] == [{0}, {1}]  # one walker each, all along
    assert tracks[0].frames == [f for f in range(20) if f not in (9, 10, 11)]
    frames, boxes, detected = tracks[0].dense()  # the hidden frames are interpolated
    np.testing.assert_allclose(boxes[9:12], np.stack([walker(0, 0, 4)(f) for f in (9, 10, 11)]), atol=1e-4)
    assert not detected[9:12].any() and detected[[8, 12]].all()
    np.testing.assert_allclose(tracks[1].boxes[0], walker(80, 0, -4)(0))  # the detector's boxes
    # IoU alone links A's last box, left where A was hidden, to B walking out of it
    assert any(len(set(walkers_of(t, steps))) > 1 for t in iou.finish())


def test_deepsort_drops_unconfirmed_and_short_tracks_and_checks_its_input():
    tracker = DeepSortTracker(max_age=2, n_init=3, min_length=6)
    look = np.eye(4, dtype=np.float32)
    for f in range(10):
        boxes = [walker(0, 0, 2)(f)]
        embeds = [look[0]]
        if f in (3, 4):  # two detections only: tentative, then dropped
            boxes.append(walker(200, 0, 0)(f))
            embeds.append(look[1])
        if 5 <= f < 9:  # confirmed, but spans 4 frames < min_length
            boxes.append(walker(100, 100, 0)(f))
            embeds.append(look[2])
        tracker.update(f, boxes, np.ones(len(boxes)), embeds)
    tracks = tracker.finish()
    assert [(t.first, t.last) for t in tracks] == [(0, 9)]
    assert len(tracker.records) == 3 and len(tracker.confirmed) == 2
    with pytest.raises(ValueError, match="frames must increase"):
        tracker.update(9, [], [], [])
    with pytest.raises(ValueError, match="2 boxes, 1 scores and 2 embeddings"):
        tracker.update(10, [walker(0, 0, 2)(10)] * 2, [1.0], look[:2])


def test_deepsort_keeps_embeddings_aligned_when_it_drops_an_empty_box():
    tracker = DeepSortTracker()
    look = np.eye(4, dtype=np.float32)
    boxes = np.array([[0, 0, 20, 50], [50, 50, 50, 90], [100, 0, 120, 50]], np.float32)  # the middle one is empty
    tracker.update(0, boxes, [1.0, 1.0, 1.0], look[:3])
    started = {tuple(t.to_ltrb(orig=True).round()): t.get_feature() for t in tracker.deepsort.tracker.tracks}
    assert set(started) == {(0, 0, 20, 50), (100, 0, 120, 50)}
    np.testing.assert_array_equal(started[(0, 0, 20, 50)], look[0])
    np.testing.assert_array_equal(started[(100, 0, 120, 50)], look[2])


def test_reid_embeddings_are_the_models_normalised_test_features():
    cfg = build_cfg(os.path.join(REPO, "configs", "ImageNet_MobileNetV2.yml"), ["INPUT.SIZE_TEST", [64, 32]])
    embed = build_reid_embedder(cfg, batch_size=2)
    frame = cv2.cvtColor(photos.bus(), cv2.COLOR_RGB2BGR)
    boxes = np.array([[20, 380, 260, 910], [200, 370, 370, 890], [640, 390, 810, 880], [700, 500, 900, 900]],
                     np.float32)  # the last one leaves the frame
    feats = embed(frame, boxes)
    assert feats.shape == (4, 1280) and feats.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-5)
    model = embed.model
    for box, feat in zip(boxes, feats):
        rgb = torch.from_numpy(crop(frame, box, (64, 32))[..., ::-1].copy()).permute(2, 0, 1).float()
        pooled = model.backbone(model.preprocess_image(rgb[None]).contiguous()).mean((2, 3))[0]
        np.testing.assert_allclose(feat, torch.nn.functional.normalize(pooled, dim=0).detach().numpy(), atol=1e-4)
    assert (feats[:3] @ feats[:3].T)[np.triu_indices(3, 1)].max() < 0.99  # three people, three embeddings
    assert embed(frame, np.zeros((0, 4))).shape == (0, 0)
