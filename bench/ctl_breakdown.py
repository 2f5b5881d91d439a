"""Where CTL's training step goes, component by component.

    python bench/ctl_breakdown.py --threads 2 --iters 20
    python bench/ctl_breakdown.py --depth 50x --height 256 --width 128 --iters 0 --warmup 0   # FLOPs only

Each component of CTL (and VideoBaseline's backbone and head, for scale) runs
forward + backward on its own, on inputs taken from one real forward pass of the
benchmark batch: detached leaves that require grad, as they do inside the step,
and fixed random upstream gradients (a loss gets 1). Reported per component:
median milliseconds over --iters runs, floating-point operations of the forward
+ backward counted by `torch.utils.flop_counter.FlopCounterMode` (matrix products
and convolutions; element-wise work counts 0), and the rate they run at. With --iters 0 only
the FLOPs are counted. The batch and the models are those of bench/train_step.py
(bench/step_models.py's flags; the first of --backbones).
"""
import statistics
import time

from ctl_plugin.modeling.losses.diversity import diversity_loss

import torch
from fastreid.utils.events import EventStorage
from step_models import batch_arguments, build, describe, make_batch, parse_batch_arguments
from tabulate import tabulate
from torch.utils.flop_counter import FlopCounterMode


def _tensors(out):
    """The tensors of a component's output (a tensor, a tuple of them, or a dict)."""
    if torch.is_tensor(out):
        return [out]
    values = out.values() if isinstance(out, dict) else out
    return [t for v in values for t in _tensors(v)]


class Component:
    """fn(*inputs) run forward + backward with fixed upstream gradients, from leaf copies of inputs."""

    def __init__(self, name, fn, inputs, models, backward=True):
        self.name = name
        self.fn = fn
        self.leaves = [x.detach().requires_grad_(backward and x.is_floating_point()) for x in inputs]
        self.models = models
        self.backward = backward
        outputs = [t for t in _tensors(self._forward()) if t.requires_grad]
        self.grads = [torch.ones_like(t) if t.dim() == 0 else torch.randn_like(t) for t in outputs]

    def _forward(self):
        with EventStorage(), torch.set_grad_enabled(self.backward):
            return self.fn(*self.leaves)

    def run(self):
        outputs = [t for t in _tensors(self._forward()) if t.requires_grad]
        if outputs:
            torch.autograd.backward(outputs, self.grads)
        for leaf in self.leaves:
            leaf.grad = None
        for model in self.models:
            model.zero_grad(set_to_none=True)

    def flops(self):
        counter = FlopCounterMode(display=False)
        with counter:
            self.run()
        return counter.get_total_flops()


def ctl_components(base, ctl, batch):
    """(indent level, Component) for VideoBaseline's and CTL's parts, in the order of CTL's
    forward; the graph head's components are the named stages its forward reports
    (`ctl_plugin.modeling.graph.stages`), with the inputs they had in that forward."""
    targets = batch["targets"]
    stages = []
    with torch.no_grad():
        clips = ctl.preprocess_image(batch)
        fmaps = ctl.frame_features(clips)
        heatmaps = ctl.keypoint_heatmaps(batch, fmaps.shape[-2:])
        global_feat, parts = ctl.graph(fmaps, heatmaps, lambda name, fn, inputs: stages.append((name, fn, inputs)))
        fused = ctl.fusion(global_feat, parts)
    rows = [
        (0, Component("VideoBaseline backbone (every frame)", base.frame_features, [clips], [base])),
        (0, Component("VideoBaseline head + losses", lambda f: base.losses(base.video_head(f, batch, targets), targets),
                      [fmaps], [base])),
        (0, Component("CTL backbone (every frame)", ctl.frame_features, [clips], [ctl])),
        (0, Component("key-point heat-maps (Eq. 1 softmax, no grad)",
                      lambda: ctl.keypoint_heatmaps(batch, fmaps.shape[-2:]), [], [ctl], backward=False)),
    ]
    rows += [(name.count(" > "), Component(name.rsplit(" > ", 1)[-1], fn, list(inputs), [ctl]))
             for name, fn, inputs in stages]

    def heads_and_losses(g, a, c, p):
        branches = {b: ctl.heads[b](f[..., None, None], targets) for b, f in zip(("g", "a", "c"), (g, a, c))}
        return ctl.losses({"branches": branches, "parts": p}, targets)

    rows += [
        (0, Component("fusion (Sec. 3.5)", ctl.fusion, [global_feat, parts], [ctl])),
        (0, Component("3 fast-reid heads + losses + L_div", heads_and_losses,
                      [fused["g"], fused["a"], fused["c"], parts], [ctl])),
        (1, Component("L_div (Eq. 8)", diversity_loss, [parts], [ctl])),
    ]
    return rows


def run_breakdown(base, ctl, batch, iters, warmup):
    """Print the per-component table; the components' runs are interleaved round-robin
    (`iters` 0: FLOPs only)."""
    rows = ctl_components(base, ctl, batch)
    for _ in range(warmup):
        for _, c in rows:
            c.run()
    times = [[] for _ in rows]
    for _ in range(iters):
        for k, (_, c) in enumerate(rows):
            start = time.perf_counter()
            c.run()
            times[k].append(time.perf_counter() - start)
    table = []
    for (level, c), t in zip(rows, times):
        ms = statistics.median(t) * 1e3 if t else float("nan")
        gflop = c.flops() / 1e9
        table.append(["- " * level + c.name, ms, gflop, gflop / ms * 1e3 if gflop else float("nan")])
    top = [r for (level, _), r in zip(rows, table) if level == 0 and not r[0].startswith("VideoBaseline")]
    base_rows = [r for r in table if r[0].startswith("VideoBaseline")]
    table.append(["CTL, sum of top-level rows", sum(r[1] for r in top), sum(r[2] for r in top), float("nan")])
    table.append(["VideoBaseline, sum", sum(r[1] for r in base_rows), sum(r[2] for r in base_rows), float("nan")])
    print(tabulate(table, headers=["component (forward + backward)", "ms (median)", "GFLOP", "GFLOP/s"],
                   floatfmt=(".1f", ".1f", ".2f", ".0f")))


def main(argv=None):
    args = parse_batch_arguments(batch_arguments(__doc__), argv, min_iters=0)
    batch = make_batch(args)
    torch.manual_seed(0)
    base, ctl = (build(name, args, args.backbones[0]).train() for name in ("VideoBaseline", "CTL-cache"))
    print(f"{describe(args)}, median of {args.iters} runs after {args.warmup} warm-up")
    run_breakdown(base, ctl, batch, args.iters, args.warmup)


if __name__ == "__main__":
    main()
