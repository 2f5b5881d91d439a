"""Does the training loader keep up with the model? Clips/s of both, side by side.

Writes the synthetic MARS-layout set (JPEG frames at --height x --width) into a
temporary data root, builds the plugin's training loader from
configs/Demo/Baseline_Synthetic.yml (P x K identity sampler, clip sampling,
JPEG decode, flip / pad-crop / random erasing) with 0, 2, 4 workers, and times
--batches batches after one warm-up batch. Then times VideoBaseline's forward
+ backward on a batch of the same size (ResNet --depth, random weights) and
prints the loader's clips/s beside the model's.

    python bench/data_loading.py                  # 256 x 128, R18, 16 clips x 6 frames
    python bench/data_loading.py --paper-shape    # 32 clips (8 ids x 4) x 6 frames, R50
"""
import argparse
import os
import statistics
import tempfile
import time

from ctl_plugin.config import build_cfg
from ctl_plugin.data.build import build_video_train_loader
from ctl_plugin.data.synthetic import generate_synthetic_mars

import torch
from fastreid.modeling.meta_arch import build_model
from fastreid.utils.events import EventStorage
from tabulate import tabulate


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paper-shape", action="store_true", help="8 ids x 4 clips per batch and ResNet-50")
    parser.add_argument("--ids", type=int, default=4, help="identities per batch (default 4)")
    parser.add_argument("--clips", type=int, default=4, help="clips per identity (default 4)")
    parser.add_argument("--frames", type=int, default=6, help="frames per clip (default 6)")
    parser.add_argument("--height", type=int, default=256, help="frame height (default 256)")
    parser.add_argument("--width", type=int, default=128, help="frame width (default 128)")
    parser.add_argument("--depth", default="18x", choices=["18x", "50x"], help="ResNet depth (default 18x)")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2, 4], help="loader workers to try")
    parser.add_argument("--batches", type=int, default=4, help="timed batches per setting (default 4)")
    parser.add_argument("--steps", type=int, default=3, help="timed model steps after one warm-up (default 3)")
    parser.add_argument("--train-ids", type=int, default=16, help="identities in the synthetic set (default 16)")
    args = parser.parse_args(argv)
    if args.paper_shape:
        args.ids, args.clips, args.depth = 8, 4, "50x"
    if args.train_ids < args.ids:
        parser.error("--train-ids must be >= --ids")
    return args


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def loader_cfg(args, workers):
    cfg = build_cfg(os.path.join(ROOT, "configs", "Demo", "Baseline_Synthetic.yml"))
    cfg.merge_from_list([
        "INPUT.SIZE_TRAIN", [args.height, args.width],
        "INPUT.SIZE_TEST", [args.height, args.width],
        "VIDEO.TRAIN.SEQ_LEN", args.frames,
        "SOLVER.IMS_PER_BATCH", args.ids * args.clips,
        "DATALOADER.NUM_INSTANCE", args.clips,
        "DATALOADER.NUM_WORKERS", workers,
        "MODEL.BACKBONE.DEPTH", args.depth,
        "MODEL.BACKBONE.FEAT_DIM", 512 if args.depth == "18x" else 2048,
        "MODEL.HEADS.NUM_CLASSES", args.train_ids,
    ])
    return cfg


def loader_rate(cfg, batches):
    """(clips/s, seconds per batch median, a batch) over `batches` batches after one warm-up."""
    it = iter(build_video_train_loader(cfg))
    batch = next(it)
    times = []
    start = time.perf_counter()
    for _ in range(batches):
        t0 = time.perf_counter()
        batch = next(it)
        times.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    return batches * batch["images"].shape[0] / total, statistics.median(times), batch


def model_rate(cfg, batch, steps):
    """(clips/s, seconds per step median) of VideoBaseline forward + backward on `batch`."""
    model = build_model(cfg).train()
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        with EventStorage():
            losses = model(batch)
        sum(losses.values()).backward()
        model.zero_grad(set_to_none=True)
        if i:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return batch["images"].shape[0] / med, med


def main(argv=None):
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        generate_synthetic_mars(root, num_train_ids=args.train_ids, num_test_ids=2,
                                tracklets_per_camera=(2, 3), tracklet_length=(12, 30),
                                frame_size=(args.height, args.width))
        print(f"synthetic set written in {time.perf_counter() - start:.1f} s")
        os.environ["FASTREID_DATASETS"] = root
        rows, batch = [], None
        for workers in args.workers:
            cfg = loader_cfg(args, workers)
            rate, per_batch, batch = loader_rate(cfg, args.batches)
            rows.append([f"loader, {workers} workers", rate, per_batch * 1e3])
        cfg = loader_cfg(args, 0)
        rate, per_step = model_rate(cfg, batch, args.steps)
        rows.append([f"VideoBaseline R{args.depth[:-1]} train step", rate, per_step * 1e3])
    print(f"threads {torch.get_num_threads()}, CPU cores {os.cpu_count()}, batch {args.ids} ids x {args.clips} "
          f"clips x {args.frames} frames x {args.height} x {args.width}")
    print(tabulate(rows, headers=["", "clips/s", "ms per batch (median)"], floatfmt=".1f"))


if __name__ == "__main__":
    main()
