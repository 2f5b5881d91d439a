"""Training and test throughput on one GPU, and what they make of the paper's MARS runs.

  train    VideoBaseline and CTL (cached key-points) at the paper's shape (8 ids x 4 clips
           x 6 frames x 256 x 128, ResNet-50, random weights): forward, backward and
           fast-reid's optimizer step (Adam of configs/Base-CTL.yml), in float32, with AMP
           (fast-reid's float16 autocast + GradScaler), and with AMP and channels-last
           (then without fast-reid's contiguous parameter buffer, which refuses it);
           frames/s over --iters steps after --warmup, on a batch already on the GPU
  test     all-frames inference as the test loader feeds it (eval mode, no grad, AMP,
           --test-batch clips of 6 frames per forward), frames/s
  loader   the plugin's training loader (JPEG decode, clip sampling, flip / pad-crop /
           random erasing) on synthetic 256 x 128 MARS-layout frames with --workers
           processes, frames/s; and JPEG decoding alone, torchvision's decode_jpeg on
           the CPU (one process) and batched on the GPU, frames/s
  schedule the paper's MARS training (SOLVER.MAX_EPOCH 240 epochs x 8,298 training
           tracklets // 32 = 259 iterations x 192 frames, 11.9 M frames) at the slower
           of the model's and the loader's rate, and the MARS test (681,089 frames),
           in hours and minutes

    python bench/gpu_throughput.py            # on a CUDA machine (bench/gpu/run.sh)
    python bench/gpu_throughput.py --dry-run  # ResNet-18, 2 ids x 2 clips x 4 frames x 64 x 32, CPU, 1 step
"""
import argparse
import glob
import os
import statistics
import tempfile
import time

from ctl_plugin.config import build_cfg
from ctl_plugin.data.synthetic import generate_synthetic_mars
from ctl_plugin.io import read_frame

import data_loading
import torch
from fastreid.modeling.meta_arch import build_model
from fastreid.solver import build_optimizer
from fastreid.utils.events import EventStorage
from tabulate import tabulate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = {
    "VideoBaseline": ("configs/Baseline_MARS.yml", []),
    "CTL-cache": ("configs/CTL_MARS.yml", ["KEYPOINTS.SOURCE", "cache"]),
}
MARS_TRAIN_TRACKLETS, MARS_TEST_FRAMES = 8298, 681089


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true",
                        help="tiny shapes on the CPU, one step of each: checks the script, measures nothing")
    parser.add_argument("--warmup", type=int, default=5, help="untimed training steps per setting (default 5)")
    parser.add_argument("--iters", type=int, default=20, help="timed training steps per setting (default 20)")
    parser.add_argument("--test-batch", type=int, default=64, help="clips per test forward (default 64)")
    parser.add_argument("--test-iters", type=int, default=20, help="timed test forwards (default 20)")
    parser.add_argument("--workers", type=int, nargs="+", default=[8, 16], help="loader workers to try")
    parser.add_argument("--loader-batches", type=int, default=30, help="timed loader batches (default 30)")
    args = parser.parse_args(argv)
    args.device = "cpu" if args.dry_run else "cuda"
    if args.dry_run:
        args.ids, args.clips, args.frames, args.height, args.width, args.depth = 2, 2, 4, 64, 32, "18x"
        args.warmup, args.iters, args.test_batch, args.test_iters = 0, 1, 2, 1
        args.workers, args.loader_batches = [0], 1
    else:
        if not torch.cuda.is_available():
            parser.error("no CUDA device: run with --dry-run to check the script on the CPU")
        args.ids, args.clips, args.frames, args.height, args.width, args.depth = 8, 4, 6, 256, 128, "50x"
    return args


def model_cfg(name, args):
    yaml, opts = MODELS[name]
    return build_cfg(os.path.join(ROOT, yaml), opts + [
        "MODEL.DEVICE", args.device, "MODEL.BACKBONE.PRETRAIN", False, "MODEL.BACKBONE.DEPTH", args.depth,
        "MODEL.BACKBONE.FEAT_DIM", 512 if args.depth == "18x" else 2048, "MODEL.HEADS.NUM_CLASSES", 625,
        "INPUT.SIZE_TRAIN", [args.height, args.width], "INPUT.SIZE_TEST", [args.height, args.width],
        "VIDEO.TRAIN.SEQ_LEN", args.frames, "VIDEO.TEST.SEQ_LEN", args.frames])


def train_batch(args):
    """Random 0-255 frames, ids 0..ids-1 each `clips` times, key-points spread over the frame."""
    g = torch.Generator().manual_seed(0)
    b = args.ids * args.clips
    scale = torch.tensor([args.width - 1.0, args.height - 1.0, 1.0])
    batch = {"images": torch.rand(b, args.frames, 3, args.height, args.width, generator=g) * 255,
             "targets": torch.arange(args.ids).repeat_interleave(args.clips),
             "camids": torch.zeros(b, dtype=torch.long),
             "keypoints": torch.rand(b, args.frames, 17, 3, generator=g) * scale}
    return {k: v.to(args.device) for k, v in batch.items()}


def amp_dtype(args):
    """float16 on CUDA (fast-reid's AMP); bfloat16 for the CPU dry run, where float16 autocast crawls."""
    return torch.float16 if args.device == "cuda" else torch.bfloat16


def sync(args):
    if args.device == "cuda":
        torch.cuda.synchronize()


def train_rate(name, args, amp, channels_last):
    """(frames/s, ms per step median) of forward + backward + optimizer step, fast-reid's AMP path."""
    cfg = model_cfg(name, args)
    torch.manual_seed(0)
    model = build_model(cfg).train()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    # fast-reid's ContiguousParams views every parameter flat, which channels-last weights refuse
    optimizer, _ = build_optimizer(cfg, model, contiguous=not channels_last)
    scaler = torch.amp.GradScaler(args.device, enabled=amp and args.device == "cuda")
    batch = train_batch(args)
    times = []
    for i in range(args.warmup + args.iters):
        sync(args)
        start = time.perf_counter()
        with EventStorage(), torch.autocast(args.device, dtype=amp_dtype(args), enabled=amp):
            losses = sum(model(batch).values())
        optimizer.zero_grad()
        scaler.scale(losses).backward()
        scaler.step(optimizer)
        scaler.update()
        sync(args)
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
    step = statistics.median(times)
    return batch["images"].shape[0] * args.frames / step, step * 1e3


@torch.no_grad()
def test_rate(name, args):
    """Frames/s of all-frames inference: --test-batch clips of one tracklet per forward, AMP on GPU."""
    model = build_model(model_cfg(name, args)).eval()
    n = args.test_batch
    g = torch.Generator().manual_seed(1)
    inputs = {"images": (torch.rand(n, args.frames, 3, args.height, args.width, generator=g) * 255).to(args.device),
              "keypoints": (torch.rand(n, args.frames, 17, 3, generator=g)
                            * torch.tensor([args.width - 1.0, args.height - 1.0, 1.0])).to(args.device),
              "num_clips": torch.tensor([n])}
    times = []
    for _ in range(args.test_iters + (0 if args.dry_run else 3)):
        sync(args)
        start = time.perf_counter()
        with torch.autocast(args.device, dtype=amp_dtype(args)):
            model(inputs)
        sync(args)
        times.append(time.perf_counter() - start)
    return n * args.frames / statistics.median(times[-args.test_iters:])


def decode_rates(args, root):
    """(CPU frames/s, GPU frames/s or None) of JPEG decoding of the synthetic frames: the
    loader's own read_frame (OpenCV) in one process, and torchvision's decode_jpeg on the GPU."""
    paths = sorted(glob.glob(os.path.join(root, "**", "*.jpg"), recursive=True))[:512]
    start = time.perf_counter()
    for path in paths:
        read_frame(path)
    cpu = len(paths) / (time.perf_counter() - start)
    if args.device != "cuda":
        return cpu, None
    import torchvision

    data = []
    for path in paths:
        with open(path, "rb") as f:
            data.append(torch.frombuffer(bytearray(f.read()), dtype=torch.uint8))
    torchvision.io.decode_jpeg(data, device="cuda")
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(5):
        torchvision.io.decode_jpeg(data, device="cuda")
    torch.cuda.synchronize()
    return cpu, 5 * len(data) / (time.perf_counter() - start)


def loader_rates(args):
    """[(workers, frames/s)] of the plugin's training loader, and the decode rates."""
    loader_args = data_loading.parse_args(["--ids", str(args.ids), "--clips", str(args.clips),
                                           "--frames", str(args.frames), "--height", str(args.height),
                                           "--width", str(args.width), "--depth", args.depth])
    rates = []
    with tempfile.TemporaryDirectory() as root:
        generate_synthetic_mars(root, num_train_ids=max(16, args.ids), num_test_ids=2,
                                tracklets_per_camera=(2, 3), tracklet_length=(12, 30),
                                frame_size=(args.height, args.width))
        os.environ["FASTREID_DATASETS"] = root
        for workers in args.workers:
            clips, _, _ = data_loading.loader_rate(data_loading.loader_cfg(loader_args, workers),
                                                   args.loader_batches)
            rates.append((workers, clips * args.frames))
        return rates, decode_rates(args, root)


def hours(seconds):
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def main(argv=None):
    args = parse_args(argv)
    device = torch.cuda.get_device_name() if args.device == "cuda" else "CPU (dry run)"
    print(f"{device}, torch {torch.__version__}, ResNet-{args.depth[:-1]}, batch {args.ids} ids x {args.clips} "
          f"clips x {args.frames} frames x {args.height} x {args.width}")
    if args.device == "cuda":
        torch.backends.cudnn.benchmark = True
    rows, best, test = [], {}, {}
    for name in MODELS:
        for amp, channels_last in ((False, False), (True, False), (True, True)):
            rate, step = train_rate(name, args, amp, channels_last)
            best[name] = max(best.get(name, 0.0), rate)
            rows.append([name, "train", f"amp {amp}, channels-last {channels_last}", rate, step])
        test[name] = test_rate(name, args)
        rows.append([name, "test (all frames)", "amp", test[name], float("nan")])
    print(tabulate(rows, headers=["model", "pass", "setting", "frames/s", "ms per step (median)"],
                   floatfmt=".1f"))

    loaders, (decode_cpu, decode_gpu) = loader_rates(args)
    print(tabulate([[f"training loader, {w} workers", r] for w, r in loaders]
                   + [["JPEG decode (OpenCV, the loader's), CPU, 1 process", decode_cpu],
                      ["decode_jpeg, GPU, batched", decode_gpu if decode_gpu else float("nan")]],
                   headers=["input pipeline", "frames/s"], floatfmt=".1f"))

    epochs = build_cfg(os.path.join(ROOT, "configs", "CTL_MARS.yml")).SOLVER.MAX_EPOCH
    iterations = MARS_TRAIN_TRACKLETS // 32
    frames = epochs * iterations * 32 * 6
    loader = max(r for _, r in loaders)
    schedule = []
    for name in MODELS:
        rate = min(best[name], loader)
        schedule.append([name, best[name], loader, hours(frames / rate), hours(MARS_TEST_FRAMES / test[name])])
    print(f"paper's MARS schedule: {epochs} epochs x {iterations} iterations x 192 frames = {frames / 1e6:.2f} M "
          f"frames; MARS test: {MARS_TEST_FRAMES:,} frames")
    print(tabulate(schedule, headers=["model", "train frames/s (best setting)", "loader frames/s (best)",
                                      "projected training", "projected test"], floatfmt=".0f"))


if __name__ == "__main__":
    main()
