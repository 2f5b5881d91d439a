#!/usr/bin/env python
"""Turn a surveillance video into re-ID tracklets, written as a `VideoFolder` split.

    python tools/track_video.py --video VIDEO [--root datasets] [--subset gallery] [--camid 0]
        [--max-frames N] [--frame-step 1] [--keypoints mediapipe] [--preview tracks.png] [--gt gt.txt]
        [--linker deepsort] [--reid-config configs/ImageNet_MobileNetV2.yml] [--reid-weights W]
        [--config-file configs/X.yml] [KEY VALUE ...]

People are found by OpenCV's HOG detector (no download), each detection window cut to
the person inside it (hog_detector.PERSON_MARGINS, measured on hand-checked boxes; see
bench/person_boxes.py), and linked over frames by DeepSORT (deep-sort-realtime's Kalman
filter, appearance cascade and IoU fallback) on embeddings of the project's re-ID model:
--reid-config with --reid-weights as its MODEL.WEIGHTS, by default VideoBaseline on the
ImageNet MobileNetV2 with no re-ID training. `--linker iou` links by box overlap alone instead. Every frame of every
tracklet is cropped and resized to INPUT.SIZE_TEST of --config-file. Each tracklet gets
its own identity (the video does not say who is who), numbered after the split's
largest pid:

    <root>/video-folder/<subset>/<pid>/<camid>/<video>_<track>/<frame>.jpg
    <root>/video-folder/<subset>-<video>_tracks.csv      boxes of every crop

`--gt gt.txt` (MOTChallenge ground truth of the video) scores the tracks with TrackEval's
HOTA, IDF1, MOTA and ID switches, each track on every frame it spans. `--gt boxes.json`
(person boxes with identities on some frames, as tests/fixtures/vtest_person_boxes.json)
scores them on the annotated frames, without the boxes that lie on its ignore regions.

`--keypoints mediapipe` estimates every crop's key-points on a crop twice the person box's
size from the full frame (tracking/context_keypoints.py), writes them into the CSV, and
fills the key-point cache of the split (KEYPOINTS.CACHE_DIR, default <root>/keypoints) so
CTL can run on it with KEYPOINTS.SOURCE cache and KEYPOINTS.CACHE_ESTIMATOR
"mediapipe:pose_landmark_full"; it reports the share of frames without a pose.
"""
import argparse
import logging
import os.path as osp

from ctl_plugin.config import build_cfg
from ctl_plugin.data import data_root
from ctl_plugin.data.datasets.video_folder import SUBSETS, VideoFolder
from ctl_plugin.keypoints import EXTRACT_BACKENDS, build_offline_estimator
from ctl_plugin.tracking import (
    METRICS,
    DeepSortTracker,
    HogPeopleDetector,
    IouTracker,
    build_reid_embedder,
    mot_scores,
    next_pid,
    read_frames,
    read_mot,
    remove_tracklets,
    tracks_as_mot,
    video_info,
    video_tracklets,
    write_tracklets,
)
from ctl_plugin.tracking.box_annotations import read_annotated_tracks
from ctl_plugin.tracking.context_keypoints import CONTEXT, ContextKeypoints, write_split_cache
from ctl_plugin.tracking.hog_detector import PERSON_MARGINS
from ctl_plugin.tracking.pipeline import track_frames, untimed
from ctl_plugin.tracking.tracklet_writer import read_crop_keypoints
from ctl_plugin.visualization.tracks import draw_tracks

import torch
from fastreid.utils.logger import setup_logger
from tabulate import tabulate
from tqdm import tqdm

logger = logging.getLogger("ctl_plugin.track_video")
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--video", required=True, help="a video file OpenCV can read")
    p.add_argument("--root", default=data_root(),
                   help="data root holding video-folder/ (default $FASTREID_DATASETS or datasets)")
    p.add_argument("--subset", choices=SUBSETS, default="gallery")
    p.add_argument("--camid", type=int, default=0, help="camera id of the video (default 0)")
    p.add_argument("--max-frames", type=int, default=0, help="only the first N frames (0: all)")
    p.add_argument("--frame-step", type=int, default=1,
                   help="detect on every k-th frame; crops are still taken on every frame")
    p.add_argument("--min-length", type=int, default=8, help="shortest tracklet kept, in frames")
    p.add_argument("--linker", choices=("deepsort", "iou"), default="deepsort",
                   help="DeepSORT on re-ID embeddings (default), or box overlap alone")
    p.add_argument("--reid-config", default=osp.join(ROOT, "configs", "ImageNet_MobileNetV2.yml"), metavar="FILE",
                   help="config of the re-ID model embedding the detections (default: VideoBaseline on "
                        "the ImageNet MobileNetV2, configs/ImageNet_MobileNetV2.yml)")
    p.add_argument("--reid-weights", default="", metavar="FILE",
                   help="MODEL.WEIGHTS of --reid-config (default: none, its backbone's ImageNet weights)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                   help="device of the re-ID model (default cuda when available, else cpu)")
    p.add_argument("--max-age", type=int, default=30,
                   help="DeepSORT: detection steps a confirmed track may go unmatched (default 30)")
    p.add_argument("--n-init", type=int, default=3,
                   help="DeepSORT: detections in a row that confirm a new track (default 3)")
    p.add_argument("--max-cosine-distance", type=float, default=0.1,
                   help="DeepSORT: largest embedding cosine distance that links (default 0.1, for the "
                        "ImageNet embeddings; DeepSORT's own 0.2 chains people in similar clothes)")
    p.add_argument("--max-iou-distance", type=float, default=0.7,
                   help="DeepSORT: largest 1 - IoU of its IoU fallback (default 0.7)")
    p.add_argument("--nn-budget", type=int, default=100,
                   help="DeepSORT: embeddings of each track it compares with (default 100)")
    p.add_argument("--max-gap", type=int, default=5, help="--linker iou: frames a track may go undetected")
    p.add_argument("--min-iou", type=float, default=0.3,
                   help="--linker iou: least box overlap that links detections")
    p.add_argument("--hog-stride", type=int, default=8, help="HOG window step in (upscaled) pixels")
    p.add_argument("--hog-scale", type=float, default=1.1, help="HOG pyramid factor")
    p.add_argument("--min-score", type=float, default=0.3, help="least HOG SVM score kept")
    p.add_argument("--upscale", type=float, default=1.5,
                   help="resize frames by this before detection: the HOG window finds people of "
                        "about 100 / upscale pixels and taller (default 1.5)")
    p.add_argument("--hog-windows", action="store_true",
                   help="keep the detector's 64 x 128 search windows, margins included, instead of the "
                        "person boxes fitted inside them (hog_detector.PERSON_MARGINS)")
    p.add_argument("--max-height", type=float, default=0.5,
                   help="drop boxes taller than this fraction of the frame (default 0.5)")
    p.add_argument("--keypoints", choices=("none", *EXTRACT_BACKENDS), default="none",
                   help="estimate each crop's key-points in context with this estimator and fill the "
                        "split's key-point cache")
    p.add_argument("--preview", metavar="PNG", help="draw the tracklets over one frame")
    p.add_argument("--gt", metavar="FILE",
                   help="ground truth of the video, MOTChallenge text or annotated person boxes (.json): "
                        "print the tracks' HOTA, IDF1, MOTA and ID switches (TrackEval)")
    p.add_argument("--overwrite", action="store_true", help="replace this video's earlier tracklets")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--config-file", default="", metavar="FILE",
                   help="config of the split: INPUT.SIZE_TEST of the crops and KEYPOINTS.* "
                        "(default: the plugin's defaults)")
    p.add_argument("opts", nargs=argparse.REMAINDER, help="config KEY VALUE pairs")
    return p.parse_args(argv)


def build_linker(args):
    """(tracker, embedder): DeepSORT with the re-ID model's embedder, or the IoU tracker and None."""
    if args.linker == "iou":
        return IouTracker(args.min_iou, max_gap=args.max_gap, min_length=args.min_length), None
    reid_cfg = build_cfg(args.reid_config, ["MODEL.WEIGHTS", args.reid_weights, "MODEL.DEVICE", args.device])
    tracker = DeepSortTracker(args.max_age, args.n_init, args.max_cosine_distance, args.max_iou_distance,
                              args.nn_budget, min_length=args.min_length)
    return tracker, build_reid_embedder(reid_cfg)


def build_detector(args):
    return HogPeopleDetector(args.hog_stride, args.hog_scale, args.min_score, upscale=args.upscale,
                             max_height=args.max_height, person_margins=None if args.hog_windows else PERSON_MARGINS)


def track(args, num_frames, clock=untimed):
    """Detect and link: the tracklets of the video (`ctl_plugin.tracking.Track`)."""
    tracker, embed = build_linker(args)
    bar = tqdm(total=num_frames, unit="frame", desc=f"detect + link ({args.linker})", disable=args.no_progress)
    tracks = track_frames(read_frames(args.video, args.max_frames), build_detector(args), tracker, embed,
                          args.frame_step, clock, bar.update)
    bar.close()
    return tracks


def fill_keypoint_cache(cfg, root, subset, estimator):
    """The split's key-point cache, from the key-points estimated in context for its crops."""
    split_dir = osp.join(root, VideoFolder.dataset_dir, subset)
    frames = VideoFolder(root=root).frame_lists[subset]
    cache_dir = cfg.KEYPOINTS.CACHE_DIR or osp.join(root, "keypoints")
    return write_split_cache(frames, read_crop_keypoints(split_dir), estimator, cache_dir, VideoFolder.dataset_name)


def read_ground_truth(path, num_frames):
    """--gt up to frame `num_frames`: {"gt", "frames" (None: all), "ignore" (None: none)}, as
    `mot_scores` takes them."""
    if path.endswith(".json"):
        gt, ignore = read_annotated_tracks(path)
        frames = [t for t in gt if t <= num_frames]
        if not frames:
            raise ValueError(f"--gt {path}: no annotated frame among the video's first {num_frames}")
        return {"gt": gt, "frames": frames, "ignore": ignore}
    gt = {t: v for t, v in read_mot(path, ground_truth=True).items() if t <= num_frames}
    return {"gt": gt, "frames": None, "ignore": None}


def main(argv=None):
    args = parse_args(argv)
    setup_logger(name="ctl_plugin")
    if args.frame_step < 1:
        raise ValueError(f"--frame-step must be >= 1, got {args.frame_step}")
    cfg = build_cfg(args.config_file or None, args.opts)
    num_frames, width, height = video_info(args.video)
    if args.max_frames:
        num_frames = min(num_frames, args.max_frames)
    prefix = osp.splitext(osp.basename(args.video))[0] + "_"
    split_dir = osp.join(args.root, VideoFolder.dataset_dir, args.subset)
    earlier = video_tracklets(split_dir, args.camid, prefix)
    if earlier and not args.overwrite:
        raise FileExistsError(f"'{split_dir}' already holds {len(earlier)} tracklets of '{prefix[:-1]}' "
                              f"on camera {args.camid} (e.g. '{earlier[0]}'); pass --overwrite to replace them")
    truth = read_ground_truth(args.gt, num_frames) if args.gt else None
    remove_tracklets(earlier)
    logger.info(f"{args.video}: {width} x {height}, {num_frames} frames")
    tracks = track(args, num_frames)
    crops = sum(len(t) for t in tracks)
    estimator = None if args.keypoints == "none" else build_offline_estimator(cfg, args.keypoints)
    size = tuple(cfg.INPUT.SIZE_TEST)
    bar = tqdm(total=crops, unit="crop", desc="crop" + (f" + {args.keypoints} key-points" if estimator else ""),
               disable=args.no_progress)
    csv_path = write_tracklets(read_frames(args.video, args.max_frames), tracks, split_dir, args.camid,
                               next_pid(split_dir), size, prefix, progress=bar.update,
                               keypoints=ContextKeypoints(estimator, size) if estimator else None)
    bar.close()
    logger.info(f"{len(tracks)} tracklets, {crops} crops of {tuple(cfg.INPUT.SIZE_TEST)} in {split_dir}; "
                f"boxes in {csv_path}")
    if args.preview:
        draw_tracks(read_frames(args.video, args.max_frames), tracks, args.preview)
        logger.info(f"preview written to {args.preview}")
    if estimator is not None:
        path, no_pose = fill_keypoint_cache(cfg, args.root, args.subset, estimator)
        logger.info(f"key-points (estimated on crops {CONTEXT:g} x the person box): {path}, "
                    f"{100 * no_pose:.1f} % of the split's frames without a pose")
    if truth is not None:
        scores = mot_scores(truth["gt"], tracks_as_mot(tracks, num_frames), truth["frames"], truth["ignore"])
        print(tabulate([[f"{100 * scores[m]:.1f}" if m != "IDSW" else scores[m] for m in METRICS]],
                       headers=[f"{m} (%)" if m != "IDSW" else m for m in METRICS]))
        return tracks, csv_path, scores
    return tracks, csv_path


if __name__ == "__main__":
    main()
