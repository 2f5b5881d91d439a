"""fast-reid's optimizer for video models: SOLVER.HEADS_LR_FACTOR reaches every layer a
video model adds on top of its backbone.

fast-reid multiplies the learning rate of a parameter by SOLVER.HEADS_LR_FACTOR when its
module's top-level name is `heads` (`fastreid.solver.build.get_default_optimizer_params`).
CTL's graph and fusion block, STMN's memories and frame head live beside `heads`, so they
trained at the backbone's rate. The optimizer is built here, by fast-reid's own
`build_optimizer`, over `OptimizerView(model)`: the same parameter objects, named
"backbone.*" for the backbone and "heads.<layer>.*" for everything else.

MODEL.FREEZE_LAYERS patterns are matched against these names, so "backbone" freezes the
backbone and "heads" every added layer (fast-reid's freeze warm-up, SOLVER.FREEZE_ITERS).
"""
from fastreid.solver import build_optimizer
from torch import nn


class OptimizerView(nn.Module):
    """The model's trainable layers as fast-reid's optimizer builder should see them:
    `backbone`, and `heads` holding every other top-level layer under its own name."""

    def __init__(self, model):
        super().__init__()
        self.backbone = model.backbone
        self.heads = nn.ModuleDict({name: layer for name, layer in model.named_children() if name != "backbone"})


def build_video_optimizer(cfg, model):
    """(optimizer, parameter wrapper), as fast-reid's `build_optimizer(cfg, model)` returns."""
    return build_optimizer(cfg, OptimizerView(model))
