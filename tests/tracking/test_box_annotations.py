"""Person boxes inside detection windows, hand-checked annotations, and detections matched to them."""
import json
import os

from ctl_plugin.tracking.box_annotations import (
    covered_share,
    match_detections,
    read_annotated_tracks,
    read_box_annotations,
)
from ctl_plugin.tracking.hog_detector import PERSON_MARGINS, fit_person_boxes

import numpy as np
import pytest

VTEST_BOXES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "vtest_person_boxes.json")


def test_fitting_cuts_each_margin_as_a_share_of_the_window():
    boxes = fit_person_boxes([[0, 0, 100, 200], [10, 20, 74, 148]], (0.25, 0.1, 0.2, 0.05))
    np.testing.assert_allclose(boxes, [[25, 20, 80, 190], [26, 32.8, 61.2, 141.6]], rtol=1e-6)
    assert fit_person_boxes(np.zeros((0, 4))).shape == (0, 4)
    assert all(0 < m < 0.5 for m in PERSON_MARGINS)


def test_detections_match_the_annotation_they_hold_most_of():
    people = np.array([[0, 0, 10, 20], [30, 0, 40, 20]], np.float32)
    ignore = np.array([[60, 0, 80, 20]], np.float32)
    boxes = [[-5, -5, 12, 25],    # holds all of person 0
             [34, 0, 50, 20],     # holds 60 % of person 1
             [62, 0, 90, 20],     # on the ignore region
             [100, 0, 120, 20],   # on nobody
             [36, 0, 50, 20]]     # 40 % of person 1: below the bar
    matches, ignored, missed = match_detections(boxes, people, ignore)
    assert matches == {0: 0, 1: 1} and ignored == 1 and missed == 2
    np.testing.assert_allclose(covered_share(np.array([34, 0, 50, 20.]), people), [0, 0.6])
    assert match_detections(boxes, np.zeros((0, 4)), np.zeros((0, 4))) == ({}, 0, 5)


def test_annotations_load_and_bad_ones_name_the_file_and_frame(tmp_path):
    good = tmp_path / "boxes.json"
    good.write_text(json.dumps({"frames": {"3": {"person": [[1, 2, 5, 9]], "ignore": []}}}))
    people, ignore = read_box_annotations(str(good))[3]
    assert people.tolist() == [[1, 2, 5, 9]] and ignore.shape == (0, 4)
    bad = tmp_path / "bad.json"
    for frames, message in (({"7": {"person": [[1, 2, 5]]}}, "frame 7: expected"),
                            ({"7": {"person": [[5, 2, 1, 9]], "ignore": []}}, "frame 7: a box with x2 <= x1"),
                            ({}, "no annotated frame")):
        bad.write_text(json.dumps({"frames": frames}))
        with pytest.raises(ValueError, match=f"bad.json: {message}"):
            read_box_annotations(str(bad))


def test_annotated_tracks_are_one_based_left_top_width_height_with_their_ids(tmp_path):
    path = tmp_path / "boxes.json"
    path.write_text(json.dumps({"frames": {
        "0": {"person": [[1, 2, 5, 9], [10, 0, 20, 30]], "person_ids": [7, 3], "ignore": [[30, 0, 40, 9]]},
        "4": {"person": [], "person_ids": [], "ignore": []}}}))
    gt, ignore = read_annotated_tracks(str(path))
    assert sorted(gt) == sorted(ignore) == [1, 5]
    assert gt[1][0].tolist() == [7, 3] and gt[1][1].tolist() == [[1, 2, 4, 7], [10, 0, 10, 30]]
    assert ignore[1].tolist() == [[30, 0, 40, 9]] and gt[5][1].shape == ignore[5].shape == (0, 4)
    for ids in (None, [7], [7, 7]):
        frame = {"person": [[1, 2, 5, 9], [10, 0, 20, 30]], "ignore": []}
        if ids is not None:
            frame["person_ids"] = ids
        path.write_text(json.dumps({"frames": {"2": frame}}))
        message = r"boxes.json: frame 2: expected 'person_ids', one distinct id per person box \(2\)"
        with pytest.raises(ValueError, match=message):
            read_annotated_tracks(str(path))


def test_vtest_annotations_hold_every_person_with_an_identity():
    gt, ignore = read_annotated_tracks(VTEST_BOXES)
    assert sorted(gt) == [f + 1 for f in range(0, 795, 33)]
    assert sum(len(ids) for ids, _ in gt.values()) == 86 and sum(len(r) for r in ignore.values()) == 40
    ids = np.concatenate([ids for ids, _ in gt.values()])
    assert sorted(set(ids.tolist())) == list(range(1, 21))  # 20 people, numbered by first appearance
