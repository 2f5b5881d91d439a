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

Where the time goes: bench/step_profile.py (by operator) and bench/ctl_breakdown.py (CTL
component by component) take the same batch flags (bench/step_models.py).

    python bench/train_step.py                      # R18, 2 ids x 2 clips x 6 x 128 x 64
    python bench/train_step.py --paper-shape        # R50, 8 ids x 4 clips x 6 x 256 x 128
    python bench/train_step.py --paper-shape --device cuda --amp --channels-last
    python bench/train_step.py --backbones resnet mobilenetv2 --models VideoBaseline CTL-cache
                                                    # ResNet-18 beside the ImageNet MobileNetV2
    python bench/train_step.py --official-shape --models GRL STMN --flops \
        --official-grl /path/to/GRL --official-stmn /path/to/STMN
"""
import multiprocessing
import statistics

import torch
from step_models import (
    MODELS,
    OFFICIAL,
    batch_arguments,
    batch_for,
    build,
    describe,
    label,
    make_batch,
    parse_batch_arguments,
    step,
    warm_models,
)
from tabulate import tabulate
from torch.utils.flop_counter import FlopCounterMode


def parse_args(argv=None):
    parser = batch_arguments(__doc__)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS),
                        help="models to time (default: all)")
    parser.add_argument("--flops", action="store_true",
                        help="count each model's forward + backward FLOPs (one extra step each)")
    parser.add_argument("--no-memory", action="store_true", help="skip the CPU peak-memory children")
    return parse_batch_arguments(parser, argv)


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


def main(argv=None):
    args = parse_args(argv)
    models, batches = warm_models(args.models, args)
    forward = {key: [] for key in models}
    backward = {key: [] for key in models}
    for i in range(args.iters):
        # the order alternates, so that no model always runs right after the same other one
        for key in (list(models) if i % 2 == 0 else list(models)[::-1]):
            f, b = step(models[key][2], batches[key], args)
            forward[key].append(f)
            backward[key].append(b)
    steps = {key: [f + b for f, b in zip(forward[key], backward[key])] for key in models}

    first = label("VideoBaseline", args.backbones[0], args)
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

    print(f"{describe(args)}, {args.iters} interleaved steps after {args.warmup} warm-up")
    mem = "GPU" if args.device.startswith("cuda") else "RSS"
    print(tabulate(rows, headers=["model", "step ms (median)", "step ms (min)", "fwd ms (min)", "bwd ms (min)",
                                  f"x {first} (median/min/paired)", "x official (step/fwd/bwd)", "GFLOP", "params M",
                                  "trainable M", f"step {mem} MiB", f"peak {mem} MiB"],
                   floatfmt=".2f"))


if __name__ == "__main__":
    main()
