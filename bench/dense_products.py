"""The graph head's dense products through torch's `linear` and through the plugin's
(`ctl_plugin/modeling/graph/onednn_linear.py`: oneDNN for float32 on the CPU), side by side.

Each product runs forward + backward (both gradients) at the shapes of CTL's graph
head for the benchmark batch of `train_step.py` (ResNet-18: C = 512, 32 nodes, the
paper's tau 3 and embedding 256); the two paths alternate, --iters times each after
--warmup, and the table gives minima, medians, GFLOP/s and the ratio of the minima.

    python bench/dense_products.py                  # 2 ids x 2 clips x 6 frames, C = 512
    python bench/dense_products.py --channels 2048  # ResNet-50's width
"""
import argparse
import statistics
import time

from ctl_plugin.keypoints.skeleton import SCALE_SIZES
from ctl_plugin.modeling.graph.onednn_linear import linear, uses_onednn

import torch
import torch.nn.functional as F
from tabulate import tabulate


def products(args):
    """(name, rows M, in K, out N) of the graph head's dense layers."""
    bt = args.ids * args.clips * args.frames
    c, e, tau = args.channels, args.embed, args.window
    nodes, s1, s2 = sum(SCALE_SIZES.values()), SCALE_SIZES["s1"], SCALE_SIZES["s2"]
    return [
        ("X W^l (Eq. 4)", bt * nodes, c, c),
        ("window collapse (tau C -> C)", bt * nodes, tau * c, c),
        ("CS-GCL pair term h, s1 (Eq. 5)", bt * s1 * s1, e, e),
        ("CS-GCL pair term h, s2 (Eq. 5)", bt * s2 * s2, e, e),
        ("CS-GCL embedding phi, s1 (Eq. 5)", bt * s1, c, e),
        ("CS-GCL relation f, s1 (Eq. 5)", bt * s1, c + e, e),
    ]


def time_step(fn, x, w, grad):
    start = time.perf_counter()
    fn(x, w).backward(grad)
    x.grad = w.grad = None
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ids", type=int, default=2)
    parser.add_argument("--clips", type=int, default=2)
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--channels", type=int, default=512, help="C, the backbone's width (default 512)")
    parser.add_argument("--embed", type=int, default=256, help="CTL.CROSS_SCALE.EMBED_DIM (default 256)")
    parser.add_argument("--window", type=int, default=3, help="CTL.GCL.WINDOW (default 3)")
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    paths = {"torch": F.linear, "plugin": linear}
    rows = []
    for name, m, k, n in products(args):
        x = torch.randn(m, k, generator=g).requires_grad_()
        w = torch.randn(n, k, generator=g).requires_grad_()
        grad = torch.randn(m, n, generator=g)
        times = {p: [] for p in paths}
        for i in range(args.warmup + args.iters):
            for p in (list(paths) if i % 2 == 0 else list(paths)[::-1]):
                t = time_step(paths[p], x, w, grad)
                if i >= args.warmup:
                    times[p].append(t)
        gflop = 3 * 2 * m * k * n / 1e9
        mins = {p: min(t) for p, t in times.items()}
        rows.append([name, f"{m} x {k} -> {n}", mins["torch"] * 1e3, statistics.median(times["torch"]) * 1e3,
                     mins["plugin"] * 1e3, statistics.median(times["plugin"]) * 1e3,
                     gflop / mins["torch"], gflop / mins["plugin"], mins["plugin"] / mins["torch"]])
    x = torch.zeros(1, 1)
    print(f"threads {torch.get_num_threads()}, forward + backward, {args.iters} interleaved runs after "
          f"{args.warmup}; the plugin's path {'is oneDNN' if uses_onednn(x, x) else 'is torch linear here'}")
    print(tabulate(rows, headers=["product", "M x K -> N", "torch ms (min)", "torch ms (median)",
                                  "plugin ms (min)", "plugin ms (median)", "torch GFLOP/s", "plugin GFLOP/s",
                                  "plugin / torch (min)"], floatfmt=".2f"))


if __name__ == "__main__":
    main()
