#!/usr/bin/env python
"""Write the synthetic MARS-layout set (and its ground-truth key-point cache).

    python tools/make_synthetic.py --root datasets --preview synthetic.png

writes datasets/synthetic-mars/ and datasets/keypoints/SyntheticMARS/, then a
montage of a few tracklets with their cached key-points drawn on the frames,
coloured by confidence (`visualization.keypoints`: 1 visible, 0.5 hidden by the
walker's own body, 0 occluded or outside the frame).
"""
import argparse
import os

from ctl_plugin.data.synthetic import DATASET_NAME, generate_synthetic_mars
from ctl_plugin.data.tracklets import FrameList
from ctl_plugin.io import read_frame
from ctl_plugin.keypoints.cache import KeypointCache
from ctl_plugin.visualization.keypoints import draw_keypoints

import cv2
import numpy as np
import scipy.io


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default="datasets", help="data root (fast-reid's datasets folder)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-ids", type=int, default=16)
    p.add_argument("--test-ids", type=int, default=16)
    p.add_argument("--cameras", type=int, default=3, help="2 to 6")
    p.add_argument("--tracklets-per-camera", type=int, nargs=2, default=(1, 2), metavar=("MIN", "MAX"))
    p.add_argument("--length", type=int, nargs=2, default=(4, 24), metavar=("MIN", "MAX"),
                   help="tracklet length range in frames")
    p.add_argument("--junk", type=int, default=4, help="junk tracklets (pid -1) in the test split")
    p.add_argument("--distractors", type=int, default=6, help="distractor tracklets (pid 0) in the test split")
    p.add_argument("--queries-per-id", type=int, default=2)
    p.add_argument("--occlusion-rate", type=float, default=0.25, help="fraction of occluded tracklets")
    p.add_argument("--height", type=int, default=128)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--overwrite", action="store_true", help="replace an existing synthetic-mars folder")
    p.add_argument("--preview", default="", help="also write a PNG montage of tracklets with key-points")
    p.add_argument("--preview-split", choices=("train", "test"), default="train")
    p.add_argument("--preview-tracklets", type=int, default=6)
    p.add_argument("--preview-frames", type=int, default=8)
    return p.parse_args(argv)


def keypoint_montage(root, split="train", num_tracklets=6, num_frames=8, scale=3):
    """RGB montage: the first tracklet of each of the first `num_tracklets` pids of the split
    (in table order: junk and distractors come first in test), `num_frames` evenly spaced
    frames each, read back from the written layout and key-point cache."""
    dataset_dir = os.path.join(root, "synthetic-mars")
    names = open(os.path.join(dataset_dir, "info", f"{split}_name.txt")).read().split()
    table = scipy.io.loadmat(os.path.join(dataset_dir, "info", f"tracks_{split}_info.mat"))[f"track_{split}_info"]
    frame_list = FrameList(f"bbox_{split}", os.path.join(dataset_dir, f"bbox_{split}"),
                           [n[:4] + "/" + n for n in names])
    cache = KeypointCache.open(os.path.join(root, "keypoints"), DATASET_NAME, frame_list)
    first_of_pid = np.sort(np.unique(table[:, 2], return_index=True)[1])
    rows = []
    for start, end, _, _ in table[first_of_pid[:num_tracklets]]:
        picks = np.unique(np.linspace(start - 1, end - 1, num_frames).round().astype(int))
        tiles = [draw_keypoints(read_frame(frame_list.path(i)), cache.lookup([i])[0], radius=scale, scale=scale)
                 for i in picks]
        tiles += [np.zeros_like(tiles[0])] * (num_frames - len(tiles))
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


def main(argv=None):
    args = parse_args(argv)
    summary = generate_synthetic_mars(
        args.root, num_train_ids=args.train_ids, num_test_ids=args.test_ids, num_cameras=args.cameras,
        tracklets_per_camera=tuple(args.tracklets_per_camera), tracklet_length=tuple(args.length),
        num_junk=args.junk, num_distractors=args.distractors, queries_per_id=args.queries_per_id,
        occlusion_rate=args.occlusion_rate, frame_size=(args.height, args.width), seed=args.seed,
        overwrite=args.overwrite)
    print(f"wrote {summary.dataset_dir}: train {summary.num_train_tracklets} tracklets / "
          f"{summary.num_train_frames} frames, test {summary.num_test_tracklets} tracklets / "
          f"{summary.num_test_frames} frames, {summary.num_queries} queries; key-points in "
          f"{summary.keypoint_dir}; {summary.seconds:.1f} s")
    if args.preview:
        montage = keypoint_montage(args.root, args.preview_split, args.preview_tracklets, args.preview_frames)
        if not cv2.imwrite(args.preview, cv2.cvtColor(montage, cv2.COLOR_RGB2BGR)):
            raise OSError(f"could not write the preview '{args.preview}'")
        print(f"preview: {args.preview}")
    return summary


if __name__ == "__main__":
    main()
