"""How well detection boxes fit the people in them, on hand-checked person boxes of vtest.avi.

    python bench/person_boxes.py [--video datasets/samples/vtest.avi]
        [--annotations tests/fixtures/vtest_person_boxes.json]

The HOG detector (tools/track_video.py's default settings) runs on every annotated frame.
Each detection window is matched to the annotation most of whose area it holds (at least
half; detections on `ignore` regions are left out), and the IoU of the raw window and of
the fitted person box (`fit_person_boxes`) with that person is reported. The margins are
measured on the even-numbered half of the annotated frames (medians of the person's offset
inside its window, as shares of the window) and scored on the other half; the shipped
PERSON_MARGINS are scored too.
"""
import argparse
import os
import statistics

from ctl_plugin.tracking import HogPeopleDetector, read_frames
from ctl_plugin.tracking.box_annotations import match_detections, read_box_annotations
from ctl_plugin.tracking.hog_detector import PERSON_MARGINS, fit_person_boxes
from ctl_plugin.tracking.mot_scores import box_iou
from ctl_plugin.tracking.track import to_ltwh

import numpy as np
from tabulate import tabulate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def matched_pairs(video, annotations, detector):
    """{frame: [(window, person box)]} and the counts of detections on ignore regions and on nobody."""
    pairs, ignored, missed = {}, 0, 0
    last = max(annotations)
    for index, frame in read_frames(video, last + 1):
        if index not in annotations:
            continue
        people, ignore = annotations[index]
        windows, _ = detector(frame)
        matches, n_ignored, n_missed = match_detections(windows, people, ignore)
        pairs[index] = [(windows[d], people[p]) for d, p in matches.items()]
        ignored, missed = ignored + n_ignored, missed + n_missed
    return pairs, ignored, missed


def measured_margins(pairs):
    """Medians of (left, top, right, bottom) background shares of the windows."""
    shares = [[(p[0] - w[0]) / (w[2] - w[0]), (p[1] - w[1]) / (w[3] - w[1]),
               (w[2] - p[2]) / (w[2] - w[0]), (w[3] - p[3]) / (w[3] - w[1])] for w, p in pairs]
    return tuple(float(v) for v in np.median(np.asarray(shares), axis=0))


def mean_iou(pairs, margins):
    boxes = [w if margins is None else fit_person_boxes(w, margins)[0] for w, _ in pairs]
    return statistics.mean(float(box_iou(to_ltwh(b), to_ltwh(p))[0, 0]) for b, (_, p) in zip(boxes, pairs))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", default=os.path.join(ROOT, "datasets", "samples", "vtest.avi"))
    parser.add_argument("--annotations", default=os.path.join(ROOT, "tests", "fixtures", "vtest_person_boxes.json"))
    args = parser.parse_args(argv)
    annotations = read_box_annotations(args.annotations)
    detector = HogPeopleDetector(8, 1.1, 0.3, upscale=1.5, max_height=0.5, person_margins=None)
    pairs, ignored, missed = matched_pairs(args.video, annotations, detector)
    frames = sorted(annotations)
    halves = {"measured on (even)": frames[0::2], "scored on (odd)": frames[1::2], "all": frames}
    pooled = {name: [pair for f in fs for pair in pairs.get(f, [])] for name, fs in halves.items()}
    measured = measured_margins(pooled["measured on (even)"])
    people = sum(len(annotations[f][0]) for f in frames)
    found = len({(f, tuple(p)) for f in frames for _, p in pairs.get(f, [])})
    print(f"{len(frames)} annotated frames, {people} people, {found} of them found; "
          f"{len(pooled['all'])} detections matched a person, "
          f"{ignored} fell on ignore regions, {missed} on nobody")
    print("margins measured on the even half (left, top, right, bottom): "
          + ", ".join(f"{v:.3f}" for v in measured))
    rows = [[name, len(pooled[h])] + [f"{mean_iou(pooled[h], m):.3f}" for m in (None, PERSON_MARGINS, measured)]
            for name, h in (("even frames", "measured on (even)"), ("odd frames", "scored on (odd)"),
                            ("all frames", "all"))]
    print(tabulate(rows, headers=["frames", "detections", "IoU window", "IoU fitted (PERSON_MARGINS)",
                                  "IoU fitted (just measured)"]))
    return pooled, measured


if __name__ == "__main__":
    main()
