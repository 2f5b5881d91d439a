"""Frames per second of tools/track_video.py, stage by stage, on the first frames of a video.

    python bench/tracker_stages.py [--frames 200] [--video datasets/samples/vtest.avi] [--threads N]
        [-- TRACK_VIDEO_FLAGS ...]      # e.g. -- --linker iou, -- --frame-step 3

One run of the tool's own pipeline (`track_video.track`, then `write_tracklets` into a
temporary split) with its default settings, or the flags after `--`, each stage timed:
read (decoding the video), detect (HOG, person boxes), embed (each box through the re-ID
model; DeepSORT only), link, write (decoding again, cropping, resizing and JPEG-writing
every tracklet frame). Building the re-ID model is not counted. Frames/s are the frames
of the video over each stage's seconds; "all stages" is the tool's speed.
"""
import argparse
import os
import sys
import tempfile
import time

import torch
from tabulate import tabulate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from ctl_plugin.config import build_cfg  # noqa: E402
from ctl_plugin.tracking import read_frames, write_tracklets  # noqa: E402
from ctl_plugin.tracking.pipeline import StageClock  # noqa: E402

from tools import track_video  # noqa: E402

STAGES = ("read", "detect", "embed", "link", "write")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    own, tool = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=200, help="first frames of the video (default 200)")
    parser.add_argument("--video", default=os.path.join(ROOT, "datasets", "samples", "vtest.avi"))
    parser.add_argument("--threads", type=int, default=None, help="torch and OpenCV threads (default: theirs)")
    args = parser.parse_args(own)
    if args.threads:
        import cv2
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    tool_args = track_video.parse_args(["--video", args.video, "--max-frames", str(args.frames), "--no-progress",
                                        *tool])
    cfg = build_cfg(tool_args.config_file or None, tool_args.opts)
    clock = StageClock()
    start = time.perf_counter()
    tracks = track_video.track(tool_args, args.frames, clock)
    with tempfile.TemporaryDirectory() as split, clock("write"):
        write_tracklets(read_frames(args.video, args.frames), tracks, split, size=tuple(cfg.INPUT.SIZE_TEST))
    wall = time.perf_counter() - start
    total = sum(clock.seconds.values())
    rows = [[stage, clock.seconds[stage], 1e3 * clock.seconds[stage] / args.frames,
             args.frames / clock.seconds[stage] if clock.seconds[stage] else float("inf"),
             100 * clock.seconds[stage] / total] for stage in STAGES]
    rows.append(["all stages", total, 1e3 * total / args.frames, args.frames / total, 100.0])
    print(f"{os.path.basename(args.video)}: {args.frames} frames, linker {tool_args.linker}, frame step "
          f"{tool_args.frame_step}, HOG upscale {tool_args.upscale:g} stride {tool_args.hog_stride} scale "
          f"{tool_args.hog_scale:g}, {len(tracks)} tracklets, {sum(len(t) for t in tracks)} crops; "
          f"torch threads {torch.get_num_threads()}; {wall:.1f} s wall with the re-ID model's build")
    print(tabulate(rows, headers=["stage", "s", "ms / frame", "frames/s", "% of stages"],
                   floatfmt=("", ".3f", ".2f", ".2f", ".2f")))
    return clock.seconds, tracks


if __name__ == "__main__":
    main()
