#!/usr/bin/env python
"""Search a gallery for one query tracklet: print and draw its top-k matches.

    python tools/query.py --config-file configs/CTL_MARS.yml --query path/to/tracklet/ \
        --gallery VideoFolder [--topk 10] [--query-pid 7] [--output ranks.png] \
        [--feature-dir DIR] MODEL.WEIGHTS logs/ctl/model_final.pth

--query is a folder of one tracklet's frames (*.jpg, in name order). --gallery
names a registered dataset (e.g. a `VideoFolder` written by tools/track_video.py);
its gallery split is searched. Gallery features are cached in --feature-dir
(default OUTPUT_DIR/features) and reused while the weights, the config and the
gallery stay the same; a faiss index finds the nearest in TEST.METRIC's distance.
With KEYPOINTS.SOURCE cache, the query's key-points come from the
KEYPOINTS.EXTRACT.BACKEND run on its frames (it must be the estimator that
made the gallery's cache). A query folder that is itself a gallery tracklet is
left out of its own ranking. --query-pid colours matches green / red; without it
every border is grey. Without MODEL.WEIGHTS the model is what its config builds:
configs/ImageNet_MobileNetV2.yml searches with the ImageNet MobileNetV2's pooled features.
"""
import argparse
import logging
import os
import os.path as osp

from ctl_plugin.config import ConfigError, build_cfg
from ctl_plugin.data.build import build_tracklet_loader, load_dataset, open_keypoint_caches
from ctl_plugin.data.tracklets import FrameList, FrameSpan
from ctl_plugin.engine import build_test_model
from ctl_plugin.io import IMAGE_SUFFIXES, read_frame
from ctl_plugin.keypoints.cache import KeypointCache, cache_info, check_values
from ctl_plugin.retrieval import FeatureCache, GalleryIndex, extract_features
from ctl_plugin.visualization import ranklist

import numpy as np
from fastreid.utils.logger import setup_logger
from tabulate import tabulate

logger = logging.getLogger("ctl_plugin.query")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config-file", required=True, metavar="FILE")
    p.add_argument("--query", required=True, metavar="DIR", help="folder of the query tracklet's frames")
    p.add_argument("--gallery", required=True, metavar="DATASET", help="registered dataset whose gallery is searched")
    p.add_argument("--topk", type=int, default=10)
    p.add_argument("--query-pid", type=int, help="the query's identity, to mark matches")
    p.add_argument("--output", metavar="PNG", help="draw the rank list here")
    p.add_argument("--feature-dir", metavar="DIR", help="gallery feature cache (default OUTPUT_DIR/features)")
    p.add_argument("--query-frames", type=int, default=4, help="query frames drawn")
    p.add_argument("--gallery-frames", type=int, default=1, help="frames drawn per gallery tracklet")
    p.add_argument("opts", nargs=argparse.REMAINDER, help="config KEY VALUE pairs, e.g. MODEL.WEIGHTS")
    return p.parse_args(argv)


def query_tracklet(folder):
    """The query folder as one tracklet item (span, pid -1, camid -1)."""
    if not osp.isdir(folder):
        raise FileNotFoundError(f"--query '{folder}' is not a folder of frames")
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMAGE_SUFFIXES))
    if not names:
        raise FileNotFoundError(f"--query '{folder}' holds no frames ({', '.join(IMAGE_SUFFIXES)})")
    frames = FrameList("query", folder, names)
    return FrameSpan(frames, 0, len(names)), -1, -1


def query_keypoints(cfg, frames):
    """{FrameList: KeypointCache} of the query's frames, estimated now, when the model reads a cache."""
    if cfg.KEYPOINTS.SOURCE != "cache":
        return None
    from ctl_plugin.keypoints import build_offline_estimator

    estimator = build_offline_estimator(cfg)
    if cfg.KEYPOINTS.CACHE_ESTIMATOR and estimator.name != cfg.KEYPOINTS.CACHE_ESTIMATOR:
        raise ConfigError(f"KEYPOINTS.CACHE_ESTIMATOR: the gallery's key-points come from "
                          f"'{cfg.KEYPOINTS.CACHE_ESTIMATOR}', but KEYPOINTS.EXTRACT.BACKEND runs "
                          f"'{estimator.name}' on the query; set KEYPOINTS.EXTRACT.BACKEND to the gallery's estimator")
    kps = np.asarray(estimator.estimate([read_frame(frames.path(i)) for i in range(len(frames))]), np.float32)
    check_values(kps, f"key-points of the query '{frames.root}'")
    info = cache_info("query", frames, estimator.name, estimator.weights_sha256)
    return {frames: KeypointCache(kps, info, path=None)}


def main(argv=None):
    args = parse_args(argv)
    cfg = build_cfg(args.config_file, args.opts)
    cfg.freeze()
    setup_logger(name="ctl_plugin")
    model = build_test_model(cfg)

    dataset = load_dataset(cfg, args.gallery)
    gallery = dataset.gallery
    if not gallery:
        raise ValueError(f"dataset {args.gallery} has an empty gallery split")
    cache = FeatureCache(args.feature_dir or osp.join(cfg.OUTPUT_DIR, "features"), f"{args.gallery}-gallery",
                         cfg, gallery)
    keypoints = open_keypoint_caches(cfg, args.gallery, dataset)
    g_feats = cache.get(lambda: extract_features(model, build_tracklet_loader(cfg, gallery, keypoints))[0])

    item = query_tracklet(args.query)
    q_feat = extract_features(model, build_tracklet_loader(cfg, [item], query_keypoints(cfg, item[0].frames)))[0]
    itself = [g for g, (span, _, _) in enumerate(gallery)
              if osp.realpath(osp.dirname(span.path(0))) == osp.realpath(args.query)]
    distances, indices = GalleryIndex(g_feats, cfg.TEST.METRIC).search(q_feat, args.topk + len(itself))
    keep = ~np.isin(indices[0], itself)
    distances, indices = distances[0][keep][:args.topk], indices[0][keep][:args.topk]

    g_pids = np.array([pid for _, pid, _ in gallery])
    matches = [None] * len(indices) if args.query_pid is None else list(g_pids[indices] == args.query_pid)
    rows = [[rank, f"{d:.4f}", gallery[g][1], gallery[g][2], len(gallery[g][0]),
             osp.dirname(gallery[g][0].path(0))] + ([] if m is None else ["yes" if m else "no"])
            for rank, (d, g, m) in enumerate(zip(distances, indices, matches), start=1)]
    headers = ["rank", f"{cfg.TEST.METRIC} distance", "pid", "camid", "frames", "tracklet"]
    print(tabulate(rows, headers=headers + ([] if args.query_pid is None else ["match"])))
    if args.output:
        image = ranklist.draw_rank_list(
            ranklist.spread_frames(item[0], args.query_frames)[0],
            [ranklist.spread_frames(gallery[g][0], args.gallery_frames)[0] for g in indices],
            distances, matches, tile_size=(cfg.INPUT.SIZE_TEST[0] // 2, cfg.INPUT.SIZE_TEST[1] // 2))
        os.makedirs(osp.dirname(osp.abspath(args.output)), exist_ok=True)
        ranklist.save_png(image, args.output)
        logger.info(f"rank list drawn to {args.output}")
    return distances, indices


if __name__ == "__main__":
    main()
