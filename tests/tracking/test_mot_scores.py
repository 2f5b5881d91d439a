"""MOT scores (ctl_plugin.tracking.mot_scores) through TrackEval, on the real MOTChallenge
files that the motmetrics wheel ships (TUD-Campus, TUD-Stadtmitte)."""
import importlib.util
import os

from ctl_plugin.tracking import Track
from ctl_plugin.tracking.box_annotations import read_annotated_tracks
from ctl_plugin.tracking.mot_scores import (
    MotFileError,
    box_iou,
    mot_scores,
    outside_ignored,
    read_mot,
    tracks_as_mot,
)

import numpy as np
import pytest

VTEST_BOXES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "vtest_person_boxes.json")
DATA = os.path.join(os.path.dirname(importlib.util.find_spec("motmetrics").origin), "data")
# motmetrics' own expected values for these files (its test suite, the same CLEAR and
# Identity definitions at IoU 0.5)
REFERENCE = {"TUD-Campus": {"MOTA": 0.526, "IDF1": 0.558}, "TUD-Stadtmitte": {"MOTA": 0.564, "IDF1": 0.645}}


def files(sequence):
    return (read_mot(os.path.join(DATA, sequence, "gt.txt"), ground_truth=True),
            read_mot(os.path.join(DATA, sequence, "test.txt")))


@pytest.mark.parametrize("sequence", sorted(REFERENCE))
def test_the_ground_truth_against_itself_scores_one(sequence):
    gt, _ = files(sequence)
    assert mot_scores(gt, gt) == {"HOTA": 1.0, "IDF1": 1.0, "MOTA": 1.0, "IDSW": 0}


@pytest.mark.parametrize("sequence", sorted(REFERENCE))
def test_the_shipped_tracker_output_scores_as_motmetrics_says(sequence):
    scores = mot_scores(*files(sequence))
    for name, value in REFERENCE[sequence].items():
        assert scores[name] == pytest.approx(value, abs=1e-3)
    assert 0.2 < scores["HOTA"] < scores["IDF1"] and scores["IDSW"] > 0


def test_a_perturbed_copy_scores_lower_on_every_metric():
    """Two identities swapped halfway and every box shifted by a third of its width."""
    gt, _ = files("TUD-Campus")
    frames = sorted(gt)
    swapped = {}
    for t in frames:
        ids, boxes = gt[t]
        ids = ids.copy()
        if t > frames[len(frames) // 2]:
            ids = np.where(ids == 1, 2, np.where(ids == 2, 1, ids))
        swapped[t] = (ids, boxes + np.array([boxes[:, 2].mean() / 3, 0, 0, 0]))
    ours, perfect = mot_scores(gt, swapped), mot_scores(gt, gt)
    assert all(ours[m] < perfect[m] for m in ("HOTA", "IDF1", "MOTA")) and ours["IDSW"] >= 2


def test_box_iou_against_a_direct_computation():
    a, b = np.array([[0, 0, 10, 20]]), np.array([[5, 10, 10, 20], [20, 20, 1, 1], [0, 0, 10, 20]])
    # overlap 5 x 10 = 50, union 200 + 200 - 50
    assert np.allclose(box_iou(a, b), [[50 / 350, 0.0, 1.0]])


def test_not_considered_ground_truth_rows_are_dropped_and_bad_lines_named(tmp_path):
    path = tmp_path / "gt.txt"
    path.write_text("1,1,0,0,10,10,1,1,1\n1,2,5,5,10,10,0,1,1\n2,1,1,1,10,10,1,1,1\n")
    gt = read_mot(str(path), ground_truth=True)
    assert sorted(gt) == [1, 2] and gt[1][0].tolist() == [1]
    assert read_mot(str(path))[1][0].tolist() == [1, 2]  # a tracker's 7th column is its confidence
    path.write_text("1,1,0,0,10,10\n2,1,0,0,ten,10\n")
    with pytest.raises(MotFileError, match=r"gt.txt' line 2: '2,1,0,0,ten,10' is not numbers"):
        read_mot(str(path))


def test_tracks_as_mot_gives_every_spanned_frame_one_based_in_left_top_width_height():
    track = Track(7)
    track.add(0, [10, 20, 30, 60], 1.0)
    track.add(2, [12, 20, 32, 60], 1.0)  # frame 1 interpolated
    track.add(9, [0, 0, 10, 10], 1.0)
    mot = tracks_as_mot([track], num_frames=3)
    assert sorted(mot) == [1, 2, 3]
    assert mot[2][0].tolist() == [7] and np.allclose(mot[2][1], [[11, 20, 20, 40]])
    assert mot_scores(mot, tracks_as_mot([track], num_frames=3))["MOTA"] == 1.0


def test_boxes_mostly_inside_an_ignore_region_are_dropped():
    ids = np.array([1, 2, 3, 4])
    boxes = np.array([[0, 0, 10, 10],     # half inside the region: dropped
                      [6, 0, 10, 10],     # 40 % inside: kept
                      [2, 2, 1, 1],       # wholly inside: dropped
                      [50, 50, 10, 10]])  # elsewhere: kept
    kept = outside_ignored({1: (ids, boxes), 2: (ids, boxes)}, {1: np.array([[-20, -5, 5, 20.]])})
    assert kept[1][0].tolist() == [2, 4] and np.array_equal(kept[1][1], boxes[[1, 3]])
    assert kept[2][0].tolist() == [1, 2, 3, 4]  # a frame without regions keeps every box


def test_sparse_ground_truth_is_scored_on_its_frames_without_its_ignore_regions():
    """vtest.avi's annotated person boxes as a tracker output score 1.0 with extra boxes on
    frames nobody annotated and on the ignore regions, and lower with either counted."""
    gt, ignore = read_annotated_tracks(VTEST_BOXES)
    frames = sorted(gt)
    tracks = {t: (ids.copy(), boxes.copy()) for t, (ids, boxes) in gt.items()}
    tracks[2] = (np.array([1]), np.array([[100, 100, 30, 80.]]))  # frame 2 is not annotated
    for t, regions in ignore.items():  # a box on each frame's first ignore region
        if len(regions):
            ids, boxes = tracks[t]
            region = np.concatenate([regions[0, :2], regions[0, 2:] - regions[0, :2]])
            tracks[t] = (np.append(ids, 99), np.concatenate([boxes, region[None]]))
    perfect = {"HOTA": 1.0, "IDF1": 1.0, "MOTA": 1.0, "IDSW": 0}
    assert mot_scores(gt, tracks, frames, ignore) == perfect
    assert mot_scores(gt, tracks, frames)["MOTA"] < 1.0
    assert mot_scores(gt, tracks, ignore=ignore)["MOTA"] < 1.0
    # two people (ids 2 and 6, both seen before and after frame 300) swap identities there
    swapped = {t: (np.where(ids == 2, 6, np.where(ids == 6, 2, ids)) if t > 300 else ids, boxes)
               for t, (ids, boxes) in gt.items()}
    scores = mot_scores(gt, swapped, frames, ignore)
    assert scores["IDSW"] >= 2 and scores["IDF1"] < 1.0 and scores["HOTA"] < 1.0 and scores["MOTA"] < 1.0
