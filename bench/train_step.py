"""Training-step time of the video models, side by side in one process.

For each model (VideoBaseline, CTL with cached key-points, CTL with online
mmpose HRNet key-points, GRL, STMN), on each of --backbones, one forward +
backward pass over the same random clip batch is timed, forward and backward
apart; the steps of all models are interleaved round-robin so machine noise hits
every model alike, and the median and minimum of --iters steps after --warmup
steps are reported with their ratio to VideoBaseline (on the first backbone).

With --official-grl PATH / --official-stmn PATH (checkouts of flysnowtiger/GRL and
cvlab-yonsei/STMN, see bench/official.py) the official training step joins the
round-robin on the same frames and identities, and GRL / STMN are also given as
ratios to it; --flops counts each model's forward + backward floating-point
operations (`torch.utils.flop_counter`) to show that both do the same work. The
official GRL is written for 256 x 128 frames of a ResNet-50 (--official-shape).

Peak memory: on CUDA, torch.cuda.max_memory_allocated over one step; on CPU,
each model is built again in a spawned child process that runs two steps, and
the child's peak resident set (VmHWM) minus its resident set before the first
step is reported (the step's working memory).

    python bench/train_step.py                      # R18, 2 ids x 2 clips x 6 x 128 x 64
    python bench/train_step.py --paper-shape        # R50, 8 ids x 4 clips x 6 x 256 x 128
    python bench/train_step.py --paper-shape --device cuda --amp --channels-last
    python bench/train_step.py --profile CTL-cache  # plus torch.profiler's top ops of one model
    python bench/train_step.py --breakdown          # CTL component by component (bench/ctl_breakdown.py)
    python bench/train_step.py --models VideoBaseline CTL-cache --op-split
                                                    # products against other operators, per step
    python bench/train_step.py --backbones resnet mobilenetv2 --models VideoBaseline CTL-cache
                                                    # ResNet-18 beside the ImageNet MobileNetV2
    python bench/train_step.py --official-shape --models GRL STMN --flops \
        --official-grl /path/to/GRL --official-stmn /path/to/STMN
"""
import argparse
import contextlib
import multiprocessing
import os
import statistics
import time

from ctl_plugin.config import build_cfg

import official
import torch
from ctl_breakdown import run_breakdown
from fastreid.modeling.meta_arch import build_model
from fastreid.utils.events import EventStorage
from tabulate import tabulate
from torch.utils.flop_counter import FlopCounterMode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# name -> (YAML file relative to the repository root, extra KEY VALUE overrides)
MODELS = {
    "VideoBaseline": ("configs/Baseline_MARS.yml", []),
    "CTL-cache": ("configs/CTL_MARS.yml", ["KEYPOINTS.SOURCE", "cache"]),
    "CTL-online": ("configs/CTL_MARS.yml", ["KEYPOINTS.SOURCE", "online", "KEYPOINTS.MMPOSE.CHECKPOINT", "random"]),
    "GRL": ("projects/GRL/configs/GRL_MARS.yml", []),
    "STMN": ("projects/STMN/configs/STMN_MARS.yml", []),
}
# official model -> (the plugin's model it is compared with, its checkout argument)
OFFICIAL = {"GRL-official": ("GRL", "official_grl"), "STMN-official": ("STMN", "official_stmn")}


# --backbones -> (label, MODEL.BACKBONE overrides); the ResNet's DEPTH and FEAT_DIM come from --depth.
BACKBONES = {
    "resnet": ("ResNet", []),
    "mobilenetv2": ("MobileNetV2", ["MODEL.BACKBONE.NAME", "build_torchvision_mobilenetv2_backbone",
                                    "MODEL.BACKBONE.DEPTH", "1.0x", "MODEL.BACKBONE.FEAT_DIM", 1280,
                                    "MODEL.BACKBONE.LAST_STRIDE", 1]),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paper-shape", action="store_true",
                        help="8 ids x 4 clips x 6 frames x 256 x 128 with ResNet-50 (overrides the shape flags)")
    parser.add_argument("--ids", type=int, default=2, help="identities per batch (default 2)")
    parser.add_argument("--clips", type=int, default=2, help="clips per identity (default 2)")
    parser.add_argument("--frames", type=int, default=6, help="frames per clip (default 6)")
    parser.add_argument("--height", type=int, default=128, help="frame height (default 128)")
    parser.add_argument("--width", type=int, default=64, help="frame width (default 64)")
    parser.add_argument("--depth", default="18x", choices=["18x", "34x", "50x", "101x"],
                        help="ResNet depth (default 18x)")
    parser.add_argument("--backbones", nargs="+", default=["resnet"], choices=list(BACKBONES),
                        help="fast-reid's ResNet of --depth (default) and/or the plugin's MobileNetV2 "
                             "(width 1.0x, last stride 1), timed side by side")
    parser.add_argument("--official-shape", action="store_true",
                        help="ResNet-50 at 256 x 128, the shape of the official GRL and STMN "
                             "(identities, clips and frames are kept)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS),
                        help="models to time (default: all)")
    parser.add_argument("--official-grl", metavar="PATH", default=None,
                        help="checkout of flysnowtiger/GRL: time its training step beside GRL's")
    parser.add_argument("--official-stmn", metavar="PATH", default=None,
                        help="checkout of cvlab-yonsei/STMN: time its training step beside STMN's")
    parser.add_argument("--flops", action="store_true",
                        help="count each model's forward + backward FLOPs (one extra step each)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per model (default 2)")
    parser.add_argument("--iters", type=int, default=5,
                        help="timed steps per model (default 5; 0 with --breakdown: FLOPs only)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--amp", action="store_true", help="autocast to float16 (CUDA)")
    parser.add_argument("--channels-last", action="store_true", help="model and frames in channels-last layout")
    parser.add_argument("--no-memory", action="store_true", help="skip the CPU peak-memory children")
    parser.add_argument("--profile", choices=list(MODELS) + list(OFFICIAL), default=None,
                        help="also print torch.profiler's top ops of one step of this model")
    parser.add_argument("--breakdown", action="store_true",
                        help="time and count FLOPs of CTL-cache's components one by one instead "
                             "(bench/ctl_breakdown.py)")
    parser.add_argument("--op-split", action="store_true",
                        help="also split each model's step, by torch.profiler, into matrix products and "
                             "convolutions (ms, GFLOP/s) and all other operators (CPU)")
    parser.add_argument("--profile-rows", type=int, default=20, help="rows of the profiler table (default 20)")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads (default: torch's)")
    parser.add_argument("--clock", choices=["wall", "process"], default="wall",
                        help="wall: elapsed time; process: CPU time of this process, all threads (on "
                             "cores shared with other jobs, with --threads 1, it leaves out the time "
                             "the process waits for a core) (default wall)")
    args = parser.parse_args(argv)
    if args.paper_shape:
        args.ids, args.clips, args.frames, args.height, args.width, args.depth = 8, 4, 6, 256, 128, "50x"
    if args.official_shape:
        args.height, args.width, args.depth = 256, 128, "50x"
    if (args.official_grl or args.official_stmn) and (args.height, args.width, args.depth) != (256, 128, "50x"):
        parser.error("the official GRL and STMN are ResNet-50s for 256 x 128 frames: add --official-shape")
    if args.clock == "process" and args.device.startswith("cuda"):
        parser.error("--clock process times the CPU only: use the wall clock on CUDA")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device")
    if args.iters < (0 if args.breakdown else 1):
        parser.error("--iters must be >= 1 (>= 0 with --breakdown)")
    if (args.official_grl or args.official_stmn) and args.backbones != ["resnet"]:
        parser.error("the official GRL and STMN are ResNet-50s: leave --backbones at resnet")
    if args.clips < 2:
        parser.error("--clips must be >= 2: the batch-hard triplet loss needs a positive per identity")
    return args


def bench_cfg(name, backbone, args):
    """The method's YAML merged into fast-reid's cfg, with this benchmark's device, shape and backbone."""
    yaml, opts = MODELS[name]
    cfg = build_cfg(os.path.join(ROOT, yaml), opts)
    feat_dim = 512 if args.depth in ("18x", "34x") else 2048
    cfg.merge_from_list([
        "MODEL.DEVICE", args.device,
        "MODEL.BACKBONE.PRETRAIN", False,
        "MODEL.BACKBONE.DEPTH", args.depth,
        "MODEL.BACKBONE.FEAT_DIM", feat_dim,
        "MODEL.HEADS.NUM_CLASSES", args.ids,
        "INPUT.SIZE_TRAIN", [args.height, args.width],
        "INPUT.SIZE_TEST", [args.height, args.width],
        "VIDEO.TRAIN.SEQ_LEN", args.frames,
        "VIDEO.TEST.SEQ_LEN", args.frames,
        *BACKBONES[backbone][1],
    ])
    return cfg


def make_batch(args, seed=0):
    """Random frames (0-255), ids 0..ids-1 each `clips` times, and plausible key-points:
    a standing person's COCO-17 layout jittered by a few pixels, confidence in [0.3, 1]."""
    g = torch.Generator().manual_seed(seed)
    b, t, h, w = args.ids * args.clips, args.frames, args.height, args.width
    # (x, y) of the COCO-17 joints as fractions of the frame: nose, eyes, ears,
    # shoulders, elbows, wrists, hips, knees, ankles.
    layout = torch.tensor([
        [.50, .08], [.46, .06], [.54, .06], [.42, .08], [.58, .08],
        [.35, .22], [.65, .22], [.30, .38], [.70, .38], [.28, .52], [.72, .52],
        [.40, .55], [.60, .55], [.40, .75], [.60, .75], [.40, .94], [.60, .94]])
    xy = layout * torch.tensor([w, h]) + torch.randn(b, t, 17, 2, generator=g) * (0.03 * w)
    xy = torch.minimum(xy.clamp(min=0), torch.tensor([w - 1.0, h - 1.0]))
    conf = 0.3 + 0.7 * torch.rand(b, t, 17, 1, generator=g)
    device = torch.device(args.device)
    return {
        "images": (torch.rand(b, t, 3, h, w, generator=g) * 255).to(device),
        "targets": torch.arange(args.ids).repeat_interleave(args.clips).to(device),
        "camids": torch.zeros(b, dtype=torch.long, device=device),
        "keypoints": torch.cat([xy, conf], dim=-1).to(device),
    }


def build(name, args, backbone="resnet"):
    if name in OFFICIAL:
        return build_official(name, args)
    cfg = bench_cfg(name, backbone, args)
    model = build_model(cfg).train()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def build_official(name, args):
    """The official model of `name` (bench/official.py), its loss on (normalised frames, targets)."""
    checkout = getattr(args, OFFICIAL[name][1])
    if name == "GRL-official":
        model = official.OfficialGRL(checkout, args.ids, args.device)
    else:
        model = official.OfficialSTMN(checkout, args.ids, args.frames, args.device)
    model.train()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


class OfficialBatch(dict):
    """The batch of an official model: the frames normalised (the plugin's models normalise
    0-255 frames themselves, with the same ImageNet mean and std) and the targets."""

    def __init__(self, batch):
        images = batch["images"]
        mean = torch.tensor([0.485, 0.456, 0.406], device=images.device).view(-1, 1, 1) * 255
        std = torch.tensor([0.229, 0.224, 0.225], device=images.device).view(-1, 1, 1) * 255
        super().__init__(images=(images - mean) / std, targets=batch["targets"])


def batch_for(name, batch):
    return OfficialBatch(batch) if name in OFFICIAL else batch


def sync(args):
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()


def step(model, batch, args):
    """One forward + backward -> (forward s, backward s); synchronised on CUDA so the wall
    clock covers the kernels."""
    autocast = (torch.autocast(device_type="cuda", dtype=torch.float16) if args.amp
                else contextlib.nullcontext())
    clock = time.process_time if args.clock == "process" else time.perf_counter
    start = clock()
    with EventStorage(), autocast:
        if isinstance(batch, OfficialBatch):
            loss = model(batch["images"], batch["targets"])
        else:
            loss = sum(model(batch).values())
    sync(args)
    middle = clock()
    loss.backward()
    model.zero_grad(set_to_none=True)
    sync(args)
    return middle - start, clock() - middle


def rss_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field} line")


def _child_peak(name, backbone, args, queue):
    torch.manual_seed(0)
    model, batch = build(name, args, backbone), batch_for(name, make_batch(args))
    before = rss_kib("VmRSS")
    for _ in range(2):
        step(model, batch, args)
    queue.put(((rss_kib("VmHWM") - before) / 1024, rss_kib("VmHWM") / 1024))


def cpu_peak_mib(name, backbone, args):
    """(working MiB of a step, peak resident MiB of the process) from a spawned child."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_peak, args=(name, backbone, args, queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def cuda_peak_mib(model, batch, args):
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    step(model, batch, args)
    peak = torch.cuda.max_memory_allocated()
    return (peak - base) / 2 ** 20, peak / 2 ** 20


def official_ratio(name, steps, forward, backward):
    """A plugin model over its official counterpart: "step / forward / backward" ratios of
    the minima, then the median of the ratios of the steps run one after the other (which
    cancels slow changes of the machine's load); "" for other models."""
    official = next((o for o, (plugin, _) in OFFICIAL.items() if plugin == name and o in steps), None)
    if official is None:
        return ""
    minima = "/".join(f"{min(t[name]) / min(t[official]):.2f}" for t in (steps, forward, backward))
    paired = "/".join(f"{statistics.median(a / b for a, b in zip(t[name], t[official])):.2f}"
                      for t in (steps, forward, backward))
    return f"{minima}, paired {paired}"


def baseline_ratio(key, base, steps):
    """A model's step over the baseline's: "medians / minima / median of paired ratios" (each
    step over the baseline step run beside it in the same round)."""
    if base not in steps:
        return ""
    paired = statistics.median(a / b for a, b in zip(steps[key], steps[base]))
    return (f"{statistics.median(steps[key]) / statistics.median(steps[base]):.2f} / "
            f"{min(steps[key]) / min(steps[base]):.2f} / {paired:.2f}")


def step_gflop(model, batch, args):
    """Forward + backward GFLOP of one step (matrix products and convolutions), if --flops."""
    if not args.flops:
        return float("nan")
    counter = FlopCounterMode(display=False)
    with counter:
        step(model, batch, args)
    return counter.get_total_flops() / 1e9


# Operators that multiply matrices or convolve: the work FlopCounterMode counts.
PRODUCT_OPS = {"aten::mm", "aten::bmm", "aten::addmm", "aten::baddbmm", "aten::mkldnn_convolution",
               "aten::convolution_backward", "mkldnn::_linear_pointwise"}


def op_split(models, batches, args):
    """Per model, torch.profiler's self time per step in matrix products and convolutions
    (with the rate of their FLOPs) and in every other operator (element-wise, normalisation,
    copies, reductions), and each model's excess over the first."""
    rows = []
    for key, (_, _, model) in models.items():
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            for _ in range(args.iters):
                step(model, batches[key], args)
        spent = {True: 0.0, False: 0.0}
        for event in prof.key_averages():
            spent[event.key in PRODUCT_OPS] += event.self_cpu_time_total / 1e3 / args.iters
        counter = FlopCounterMode(display=False)
        with counter:
            step(model, batches[key], args)
        rows.append([key, spent[True], counter.get_total_flops() / 1e9, spent[False]])
    first = rows[0]
    rows += [[f"{r[0]} - {first[0]}"] + [a - b for a, b in zip(r[1:], first[1:])] for r in rows[1:]]
    print(f"\ntorch.profiler, self time per step over {args.iters} steps:")
    print(tabulate([r[:3] + [r[2] / r[1] * 1e3 if r[1] else float("nan"), r[3], r[1] + r[3]] for r in rows],
                   headers=["model", "products ms", "products GFLOP", "products GFLOP/s", "other ops ms",
                            "total ms"], floatfmt=".1f"))


def profile(model, batch, args):
    activities = [torch.profiler.ProfilerActivity.CPU]
    sort = "self_cpu_time_total"
    if args.device.startswith("cuda"):
        activities.append(torch.profiler.ProfilerActivity.CUDA)
        sort = "self_cuda_time_total"
    with torch.profiler.profile(activities=activities, record_shapes=True) as prof:
        step(model, batch, args)
    print(prof.key_averages(group_by_input_shape=True).table(sort_by=sort, row_limit=args.profile_rows,
                                                             max_name_column_width=40,
                                                             max_shapes_column_width=60))


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    batch = make_batch(args)
    if args.breakdown:
        torch.manual_seed(0)
        print(f"device {args.device}, threads {torch.get_num_threads()}, ResNet-{args.depth[:-1]}, "
              f"batch {args.ids} ids x {args.clips} clips x {args.frames} frames x {args.height} x "
              f"{args.width}, median of {args.iters} runs after {args.warmup} warm-up")
        backbone = args.backbones[0]
        run_breakdown(build("VideoBaseline", args, backbone).train(), build("CTL-cache", args, backbone).train(), batch,
                      args.iters, args.warmup)
        return
    if args.channels_last:
        batch["images"] = batch["images"].contiguous(memory_format=torch.channels_last_3d)
    torch.manual_seed(0)
    entries = [(name, bb) for bb in args.backbones for name in args.models]
    entries += [(name, "resnet") for name, (_, arg) in OFFICIAL.items() if getattr(args, arg)]

    def label(name, bb):
        return name if len(args.backbones) == 1 else f"{name}, {BACKBONES[bb][0]}"

    torch.manual_seed(0)
    models = {label(name, bb): (name, bb, build(name, args, bb)) for name, bb in entries}
    batches = {key: batch_for(name, batch) for key, (name, _, _) in models.items()}
    for _ in range(args.warmup):
        for key, (_, _, model) in models.items():
            step(model, batches[key], args)
    forward = {key: [] for key in models}
    backward = {key: [] for key in models}
    for i in range(args.iters):
        # the order alternates, so that no model always runs right after the same other one
        for key in (list(models) if i % 2 == 0 else list(models)[::-1]):
            f, b = step(models[key][2], batches[key], args)
            forward[key].append(f)
            backward[key].append(b)
    steps = {key: [f + b for f, b in zip(forward[key], backward[key])] for key in models}

    first = label("VideoBaseline", args.backbones[0])
    rows = []
    for key, (name, bb, model) in models.items():
        med = statistics.median(steps[key])
        params = sum(p.numel() for p in model.parameters())
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        if args.device.startswith("cuda"):
            work, peak = cuda_peak_mib(model, batches[key], args)
        elif args.no_memory:
            work, peak = float("nan"), float("nan")
        else:
            work, peak = cpu_peak_mib(name, bb, args)
        rows.append([key, med * 1e3, min(steps[key]) * 1e3, min(forward[key]) * 1e3,
                     min(backward[key]) * 1e3, baseline_ratio(key, first, steps),
                     official_ratio(key, steps, forward, backward), step_gflop(model, batches[key], args),
                     params / 1e6, trainable / 1e6, work, peak])

    b = args.ids * args.clips
    backbones = " and ".join(f"ResNet-{args.depth[:-1]}" if bb == "resnet" else "MobileNetV2 1.0x (last stride 1)"
                             for bb in args.backbones)
    print(f"device {args.device}, threads {torch.get_num_threads()}, {backbones}, "
          f"batch {args.ids} ids x {args.clips} clips x {args.frames} frames x {args.height} x {args.width} "
          f"({b * args.frames} frames), amp {args.amp}, channels-last {args.channels_last}, "
          f"{args.iters} interleaved steps after {args.warmup} warm-up, {args.clock} clock")
    mem = "GPU" if args.device.startswith("cuda") else "RSS"
    print(tabulate(rows, headers=["model", "step ms (median)", "step ms (min)", "fwd ms (min)", "bwd ms (min)",
                                  f"x {first} (median/min/paired)", "x official (step/fwd/bwd)", "GFLOP", "params M",
                                  "trainable M", f"step {mem} MiB", f"peak {mem} MiB"],
                   floatfmt=".2f"))
    if args.op_split:
        op_split(models, batches, args)
    if args.profile:
        key = label(args.profile, args.backbones[0])
        model = models[key][2] if key in models else build(args.profile, args, args.backbones[0])
        print(f"\ntorch.profiler, one step of {args.profile}:")
        profile(model, batch_for(args.profile, batch), args)


if __name__ == "__main__":
    main()
