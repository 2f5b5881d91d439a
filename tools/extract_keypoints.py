"""Extract the 17 COCO key-points of every frame of the config's datasets into the cache.

    python tools/extract_keypoints.py --config-file configs/X.yml [--keypoints mmpose|mediapipe]
        [--datasets NAME ...] [--shard i/n] [--overwrite] [KEY VALUE ...]

Every frame list of every dataset named by --datasets (default: those of DATASETS.NAMES and
DATASETS.TESTS) is written, and reported with its share of frames without a pose, to
KEYPOINTS.CACHE_DIR (default <data root>/keypoints) in chunks. A killed run resumes
without redoing finished chunks. `--shard i/n` runs one of n processes (one per GPU,
e.g. with CUDA_VISIBLE_DEVICES=i and MODEL.DEVICE cuda); a final run without
--shard extracts what is left and merges the chunks into the cache.
"""
import argparse

from ctl_plugin.config import build_cfg
from ctl_plugin.data import keypoint_cache_dir, load_dataset
from ctl_plugin.keypoints import EXTRACT_BACKENDS
from ctl_plugin.keypoints.cache import KeypointCache


def parse_shard(text):
    try:
        index, count = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard '{text}': expected i/n, e.g. 0/4") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"--shard '{text}': need 0 <= i < n")
    return index, count


def argument_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", required=True, metavar="FILE")
    parser.add_argument("--keypoints", choices=EXTRACT_BACKENDS,
                        help="the estimator (default: KEYPOINTS.EXTRACT.BACKEND)")
    parser.add_argument("--datasets", nargs="+", metavar="NAME",
                        help="registered dataset names, before any KEY VALUE (default: DATASETS.NAMES and "
                             "DATASETS.TESTS)")
    parser.add_argument("--shard", type=parse_shard, default=(0, 1), metavar="i/n")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace caches made with other frames, estimator or weights")
    parser.add_argument("--revalidate", action="store_true",
                        help="the frames were copied or moved: check the bytes of a sample of frames "
                             "against each cache and record their new sizes and times (extracts nothing)")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides: KEY VALUE ...")
    return parser


def main(argv=None):
    from ctl_plugin.keypoints import build_offline_estimator
    from ctl_plugin.keypoints.extraction import extract

    args = argument_parser().parse_args(argv)
    cfg = build_cfg(args.config_file, args.opts)
    names = list(dict.fromkeys(args.datasets or list(cfg.DATASETS.NAMES) + list(cfg.DATASETS.TESTS)))
    datasets = {name: load_dataset(cfg, name) for name in names}
    cache_dir = keypoint_cache_dir(cfg)
    if args.revalidate:
        for name, dataset in datasets.items():
            for frame_list in dataset.frame_lists.values():
                changed = KeypointCache.revalidate(cache_dir, name, frame_list)
                print(f"{name}/{frame_list.name}: " + ("the same frame bytes; new file times recorded"
                                                       if changed else "unchanged"))
        return []
    estimator = build_offline_estimator(cfg, args.keypoints)
    frame_lists = {name: list(ds.frame_lists.values()) for name, ds in datasets.items()}
    status = extract(frame_lists, estimator, cache_dir, cfg.KEYPOINTS.EXTRACT.CHUNK_SIZE,
                     cfg.KEYPOINTS.EXTRACT.BATCH_SIZE, shard=args.shard,
                     num_workers=cfg.KEYPOINTS.EXTRACT.NUM_WORKERS, overwrite=args.overwrite,
                     progress=not args.no_progress)
    for s in status:
        print(s)
    if args.shard[1] > 1:
        print(f"shard {args.shard[0]}/{args.shard[1]} done; run again without --shard to merge")
    return status


if __name__ == "__main__":
    main()
