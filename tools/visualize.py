#!/usr/bin/env python
"""Pictures of a trained model on the test set of DATASETS.TESTS[0].

    python tools/visualize.py --config-file configs/CTL_MARS.yml --output vis/ \
        [--num-queries 20] [--topk 10] [--query-frames 4] [--gallery-frames 1] \
        MODEL.WEIGHTS logs/ctl/model_final.pth

Writes to --output:
    ranklist/<q>_pid<pid>.png  query frames beside the top-k gallery tracklets
                               (green border: same identity, red: another), distances printed
    ap_histogram.png           distribution of per-query average precision
    keypoints/<q>.png          key-points on the query's frames (KEYPOINTS.SOURCE cache)
    adjacency/<layer>_<scale>_{mask,context}.png
                               CTL's A^m and the mean A^c over the first test batches
"""
import argparse
import logging
import os

from ctl_plugin.config import build_cfg
from ctl_plugin.data.build import build_video_test_loader
from ctl_plugin.engine import build_test_model
from ctl_plugin.modeling.meta_arch import CTL
from ctl_plugin.retrieval import extract_features
from ctl_plugin.visualization import adjacency, ap_distribution, keypoints, ranklist

import numpy as np
from fastreid.utils.compute_dist import build_dist
from fastreid.utils.logger import setup_logger

logger = logging.getLogger("ctl_plugin.visualize")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config-file", required=True, metavar="FILE")
    p.add_argument("--output", required=True, metavar="DIR", help="folder for the PNGs")
    p.add_argument("--num-queries", type=int, default=20, help="rank lists drawn (the first queries)")
    p.add_argument("--topk", type=int, default=10, help="gallery tracklets per rank list")
    p.add_argument("--query-frames", type=int, default=4, help="frames shown of each query")
    p.add_argument("--gallery-frames", type=int, default=1, help="frames shown of each gallery tracklet")
    p.add_argument("--context-batches", type=int, default=4, help="test batches averaged for A^c")
    p.add_argument("opts", nargs=argparse.REMAINDER, help="config KEY VALUE pairs, e.g. MODEL.WEIGHTS")
    return p.parse_args(argv)


def setup(args):
    cfg = build_cfg(args.config_file, args.opts)
    cfg.freeze()
    return cfg


def draw_rank_lists(args, items, distmat, pids, camids, num_query, out_dir):
    q_pids, g_pids = pids[:num_query], pids[num_query:]
    q_cams, g_cams = camids[:num_query], camids[num_query:]
    full_idx, full_match = ranklist.rank_lists(distmat, q_pids, g_pids, q_cams, g_cams, distmat.shape[1])
    relevant = [int(((g_pids == p) & (g_cams != c)).sum()) for p, c in zip(q_pids, q_cams)]
    aps = ap_distribution.query_average_precisions(full_idx, full_match, relevant)
    ap_distribution.draw_ap_histogram(aps, os.path.join(args.output, "ap_histogram.png"))
    logger.info(f"mAP over {int(np.sum(~np.isnan(aps)))} queries: {np.nanmean(aps):.4f}")
    os.makedirs(out_dir, exist_ok=True)
    for q in range(min(args.num_queries, num_query)):
        ranked = [g for g in full_idx[q, :args.topk] if g >= 0]
        q_frames = ranklist.spread_frames(items[q][0], args.query_frames)[0]
        g_frames = [ranklist.spread_frames(items[num_query + g][0], args.gallery_frames)[0] for g in ranked]
        image = ranklist.draw_rank_list(q_frames, g_frames, distmat[q, ranked], full_match[q, :len(ranked)],
                                        tile_size=tuple(args.tile_size))
        ranklist.save_png(image, os.path.join(out_dir, f"{q:04d}_pid{q_pids[q]}.png"))
    logger.info(f"rank lists written to {out_dir}")


def draw_keypoints(args, dataset, num_query, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for q in range(min(args.num_queries, num_query)):
        span = dataset.img_items[q][0]
        frames, idx = ranklist.spread_frames(span, args.query_frames)
        kps = dataset.cached_keypoints(span, idx)
        if kps is None:
            logger.info("no key-point cache (KEYPOINTS.SOURCE is not 'cache'): key-point overlays skipped")
            return
        frames = frames[:len(idx)]
        ranklist.save_png(keypoints.draw_keypoint_clip(frames, kps, scale=args.keypoint_scale),
                          os.path.join(out_dir, f"{q:04d}.png"))
    logger.info(f"key-point overlays written to {out_dir}")


def draw_adjacency(args, model, loader, out_dir):
    if not isinstance(model, CTL):
        logger.info(f"{type(model).__name__} has no learned topology: adjacency pictures skipped")
        return
    os.makedirs(out_dir, exist_ok=True)
    batches = [b for _, b in zip(range(args.context_batches), loader)]
    for kind, matrices in (("mask", adjacency.learned_masks(model, batches[0])),
                           ("context", adjacency.mean_contexts(model, batches))):
        label = "A^m" if kind == "mask" else f"mean A^c over {sum(len(b['num_clips']) for b in batches)} tracklets"
        for (layer, scale), m in matrices.items():
            adjacency.draw_adjacency(m, adjacency.NODE_NAMES[scale], f"layer {layer + 1}, {scale}: {label}",
                                     os.path.join(out_dir, f"layer{layer + 1}_{scale}_{kind}.png"))
    logger.info(f"adjacency matrices written to {out_dir}")


def main(argv=None):
    args = parse_args(argv)
    cfg = setup(args)
    setup_logger(name="ctl_plugin")
    setup_logger(name="fastreid")
    args.tile_size = (cfg.INPUT.SIZE_TEST[0] // 2, cfg.INPUT.SIZE_TEST[1] // 2)
    args.keypoint_scale = 2
    os.makedirs(args.output, exist_ok=True)
    model = build_test_model(cfg)
    name = cfg.DATASETS.TESTS[0]
    loader, num_query = build_video_test_loader(cfg, name)
    logger.info(f"extracting features of {len(loader.dataset)} {name} test tracklets")
    feats, pids, camids = extract_features(model, loader)
    distmat = build_dist(feats[:num_query], feats[num_query:], cfg.TEST.METRIC)
    draw_rank_lists(args, loader.dataset.img_items, distmat, pids, camids, num_query,
                    os.path.join(args.output, "ranklist"))
    draw_keypoints(args, loader.dataset, num_query, os.path.join(args.output, "keypoints"))
    draw_adjacency(args, model, loader, os.path.join(args.output, "adjacency"))
    return distmat


if __name__ == "__main__":
    main()
