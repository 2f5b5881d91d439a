"""Frames per second of offline key-point extraction, per estimator.

    python bench/keypoint_extraction.py --keypoints mmpose [--frames 64]
    python bench/keypoint_extraction.py --keypoints mediapipe [--frames 64]

Frames are 256 x 128 person crops of ultralytics' bus.jpg (installed by `make
install`); mmpose runs HRNet-W32 with seeded random weights at 256 x 128.
"""
import argparse
import importlib.util
import os
import tempfile
import time

from ctl_plugin.config import build_cfg
from ctl_plugin.data.tracklets import FrameList
from ctl_plugin.keypoints import EXTRACT_BACKENDS, build_offline_estimator
from ctl_plugin.keypoints.extraction import extract

import cv2
import torch

BOXES = ((20, 380, 260, 910), (200, 370, 370, 890), (640, 390, 810, 880))  # x0, y0, x1, y1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keypoints", choices=EXTRACT_BACKENDS, required=True, help="the estimator")
    parser.add_argument("--frames", type=int, default=64)
    args = parser.parse_args(argv)
    torch.set_num_threads(os.cpu_count())
    bus = cv2.imread(os.path.join(importlib.util.find_spec("ultralytics").submodule_search_locations[0],
                                  "assets", "bus.jpg"))
    cfg = build_cfg()
    cfg.KEYPOINTS.MMPOSE.CHECKPOINT = "random"
    with tempfile.TemporaryDirectory() as root:
        rel = []
        for i in range(args.frames):
            x0, y0, x1, y1 = BOXES[i % len(BOXES)]
            rel.append(f"{i:05d}.jpg")
            cv2.imwrite(os.path.join(root, rel[-1]), cv2.resize(bus[y0:y1, x0:x1], (128, 256)))
        estimator = build_offline_estimator(cfg, args.keypoints)
        start = time.perf_counter()
        extract({"bench": [FrameList("frames", root, rel)]}, estimator, os.path.join(root, "cache"),
                cfg.KEYPOINTS.EXTRACT.CHUNK_SIZE, cfg.KEYPOINTS.EXTRACT.BATCH_SIZE,
                num_workers=cfg.KEYPOINTS.EXTRACT.NUM_WORKERS)
        seconds = time.perf_counter() - start
    print(f"{estimator.name}: {args.frames} frames in {seconds:.1f} s = {args.frames / seconds:.1f} frames/s")


if __name__ == "__main__":
    main()
