"""Where a training step's time goes, by operator (torch.profiler), for the models of
bench/train_step.py on the same batch (bench/step_models.py's flags).

For each of --models, the self time per step over --iters steps is split into matrix
products and convolutions (with the rate of their FLOPs, `torch.utils.flop_counter`) and
every other operator (element-wise, normalisation, copies, reductions), with each model's
excess over the first. --top-ops N also prints each model's N most expensive operators.

    python bench/step_profile.py --models VideoBaseline CTL-cache --threads 2 --iters 20
    python bench/step_profile.py --models CTL-cache --iters 1 --top-ops 20
"""
import torch
from step_models import (
    MODELS,
    batch_arguments,
    describe,
    parse_batch_arguments,
    step,
    warm_models,
)
from tabulate import tabulate
from torch.utils.flop_counter import FlopCounterMode

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
    print(prof.key_averages(group_by_input_shape=True).table(sort_by=sort, row_limit=args.top_ops,
                                                             max_name_column_width=40,
                                                             max_shapes_column_width=60))


def main(argv=None):
    parser = batch_arguments(__doc__)
    parser.add_argument("--models", nargs="+", default=["VideoBaseline", "CTL-cache"], choices=list(MODELS),
                        help="models to profile (default VideoBaseline CTL-cache)")
    parser.add_argument("--top-ops", type=int, default=0, metavar="N",
                        help="also print each model's N operators of most self time (default 0: none)")
    args = parse_batch_arguments(parser, argv)
    models, batches = warm_models(args.models, args)
    print(describe(args))
    op_split(models, batches, args)
    for key, (_, _, model) in models.items() if args.top_ops else ():
        print(f"\ntorch.profiler, one step of {key}:")
        profile(model, batches[key], args)


if __name__ == "__main__":
    main()
