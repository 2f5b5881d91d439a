"""How often the pose estimator finds the person, on the hand-checked people of vtest.avi.

    python bench/pose_coverage.py [--keypoints mediapipe] [--video datasets/samples/vtest.avi]
        [--annotations tests/fixtures/vtest_person_boxes.json]

For every hand-checked person box (tests/fixtures/vtest_person_boxes.json) the estimator runs
on three crops: the tight re-ID crop (the box resized to 256 x 128, what a key-point cache
of written tracklets sees), the box grown to a HOG window's size (x 1.75 wide, x 1.33 tall)
and resized to 256 x 128, and the context crop `ContextKeypoints` uses (x CONTEXT both ways,
at the frame's resolution). A pose counts as found when any key-point has a confidence
above 0; as plausible when at least 5 key-points are visible (confidence > 0.5) and 80 % of
them lie in the person box grown by 30 % in width and 15 % in height.
"""
import argparse
import os

from ctl_plugin.config import build_cfg
from ctl_plugin.keypoints import EXTRACT_BACKENDS, build_offline_estimator
from ctl_plugin.tracking import read_frames
from ctl_plugin.tracking.box_annotations import read_box_annotations
from ctl_plugin.tracking.context_keypoints import CONTEXT, ContextKeypoints

import numpy as np
from tabulate import tabulate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = (256, 128)


def plausible(points, box):
    """At least 5 visible key-points (crop pixels at SIZE), 80 % of them near the person."""
    visible = points[:, 2] > 0.5
    xy = points[visible, :2] / np.array(SIZE[::-1])  # in box units: the person spans [0, 1]
    near = (xy[:, 0] >= -0.15) & (xy[:, 0] <= 1.15) & (xy[:, 1] >= -0.075) & (xy[:, 1] <= 1.075)
    return visible.sum() >= 5 and near.mean() >= 0.8


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keypoints", choices=EXTRACT_BACKENDS, default="mediapipe", help="the estimator")
    parser.add_argument("--video", default=os.path.join(ROOT, "datasets", "samples", "vtest.avi"))
    parser.add_argument("--annotations", default=os.path.join(ROOT, "tests", "fixtures", "vtest_person_boxes.json"))
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config KEY VALUE pairs (KEYPOINTS.*)")
    args = parser.parse_args(argv)
    annotations = read_box_annotations(args.annotations)
    estimator = build_offline_estimator(build_cfg(None, args.opts), args.keypoints)
    # key-points in the re-ID crop's pixels, those outside it kept where they are
    crops = {"tight re-ID crop, 256 x 128": ContextKeypoints(estimator, SIZE, 1.0, input_size=SIZE).unclipped,
             "HOG-window-sized crop, 256 x 128": ContextKeypoints(estimator, SIZE, (1.75, 1.33),
                                                                   input_size=SIZE).unclipped,
             f"context crop (x {CONTEXT:g}, ContextKeypoints)": ContextKeypoints(estimator, SIZE).unclipped}
    counts = {name: [0, 0] for name in crops}
    people = 0
    for index, frame in read_frames(args.video, max(annotations) + 1):
        for box in annotations.get(index, ((),))[0]:
            people += 1
            for name, keypoints in crops.items():
                points = keypoints(frame, box)
                counts[name][0] += bool(points[:, 2].max() > 0)
                counts[name][1] += bool(plausible(points, box))
    print(f"{estimator.name}, {people} hand-checked people of {len(annotations)} frames of "
          f"{os.path.basename(args.video)}")
    print(tabulate([[name, f"{found} ({100 * found / people:.0f} %)", f"{ok} ({100 * ok / people:.0f} %)"]
                    for name, (found, ok) in counts.items()], headers=["crop", "pose found", "pose plausible"]))
    return counts, people


if __name__ == "__main__":
    main()
