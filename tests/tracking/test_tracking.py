"""ctl_plugin.tracking: IoU, linking with gaps, crops, the VideoFolder it writes."""
import csv

import numpy as np
import pytest

from ctl_plugin.data.datasets.video_folder import VideoFolder
from ctl_plugin.tracking import HogPeopleDetector, IouTracker, box_iou, write_tracklets
from ctl_plugin.tracking.tracklet_writer import crop


def naive_iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def test_box_iou_matches_a_loop():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 50, (7, 2))
    a = np.concatenate([xy[:4], xy[:4] + rng.uniform(1, 30, (4, 2))], 1)
    b = np.concatenate([xy[4:], xy[4:] + rng.uniform(1, 30, (3, 2))], 1)
    b[0] = a[1]  # one identical pair: IoU 1
    iou = box_iou(a, b)
    assert iou.shape == (4, 3)
    assert iou[1, 0] == pytest.approx(1.0)
    for i in range(4):
        for j in range(3):
            assert iou[i, j] == pytest.approx(naive_iou(a[i], b[j]))


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
    import cv2
    crop3 = cv2.imread(span.path(3))
    assert crop3.shape == (32, 16, 3) and abs(int(crop3.mean()) - 30) <= 2  # frame 3 is all 30
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 20 and rows[0]["tracklet"] == "cam_0000" and rows[0]["pid"] == "7"
    assert [float(rows[3][k]) for k in ("x1", "y1", "x2", "y2")] == pytest.approx([14, 5, 34, 55])
