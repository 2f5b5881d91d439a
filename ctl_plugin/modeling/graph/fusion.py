"""Fusion block of CTL (Sec. 3.5): three video features from V_g and V_p."""
import torch
import torch.nn.functional as F
from torch import nn

BRANCHES = ("g", "a", "c")
# How the part term enters V_f^a and V_f^c (CTL.FUSION.PART_TERM); see `FusionBlock`.
PART_TERMS = ("sum", "zero_scale", "zero_bn", "mean", "none")
GATED_PART_TERMS = ("zero_scale", "zero_bn")  # the ones with a learnable gate that starts at 0


class PartGate(nn.Module):
    """The part term of one branch, [B, T, D] -> [B, T, D], as CTL.FUSION.PART_TERM says:
    "sum" and "mean" pass it on; "zero_scale" multiplies it by one learnable scalar
    initialised at 0; "zero_bn" is a BatchNorm over D whose weight starts at 0; "none" drops
    it (a control, not the paper: every branch is then V_f^g with its own head).

    `gain` (CTL.FUSION.GATE_GAIN) is a fixed factor on a gate's output, so on its parameters:
    Adam moves a parameter by about the learning rate per step whatever its gradient's size,
    so a gate that starts at 0 can open at most gain x (sum of the learning rates) in a run."""

    def __init__(self, part_term, dim, gain=1.0):
        super().__init__()
        self.gain = float(gain)
        self.off = part_term == "none"
        self.scale = nn.Parameter(torch.zeros(())) if part_term == "zero_scale" else None
        self.norm = None
        if part_term == "zero_bn":
            self.norm = nn.BatchNorm1d(dim)
            nn.init.zeros_(self.norm.weight)

    def forward(self, x):
        if self.off:
            return torch.zeros_like(x)
        if self.scale is not None:
            return self.gain * self.scale * x
        if self.norm is not None:
            return self.gain * self.norm(x.flatten(0, 1)).view_as(x)
        return x


class FusionBlock(nn.Module):
    """V_g [B, T, C], V_p [B, T, N, C] -> {"g", "a", "c"}: [B, C] each.

        V_f^g = g_TAP(V_g)
        V_f^a = g_TAP(gate_a(sum_n [V_p]_n) + V_g)
        V_f^c = g_TAP(gate_c([g_c([V_p]_1), ..., g_c([V_p]_N)]) + V_g)

    g_c is one 1x1 convolution (shared by the parts) from C to C // N channels.
    Open choice: when N does not divide C (2048 / 5) the concatenation has
    N * (C // N) channels and is zero-padded to C, so the last C mod N channels of
    V_f^c come from V_g alone.

    Open choice (CTL.FUSION.PART_TERM, docs/ctl.md): the paper's fusion is the plain sum
    ("sum", gate = identity), whose part term is the output of randomly initialised graph
    layers at the start. "zero_scale" and "zero_bn" gate the part term so that it is 0 at
    initialisation: V_f^a and V_f^c then start as V_f^g, the feature VideoBaseline takes
    from the same backbone, and the gates learn how much of the parts to add. "mean"
    averages the N parts instead of summing them. "none" is the study's control for what
    CTL's training adds without its parts: V_f^a = V_f^c = V_f^g, each with its own head
    and losses (L_div still trains the graph). `gate_gain`: see `PartGate`.
    """

    def __init__(self, channels, num_parts, part_term="sum", gate_gain=1.0):
        super().__init__()
        if part_term not in PART_TERMS:
            raise ValueError(f"CTL.FUSION.PART_TERM: expected one of {PART_TERMS}, got {part_term!r}")
        self.reduce = nn.Linear(channels, channels // num_parts, bias=False)  # g_c
        self.channels = channels
        self.part_mean = part_term == "mean"
        self.gate_a = PartGate(part_term, channels, gate_gain)
        self.gate_c = PartGate(part_term, num_parts * (channels // num_parts), gate_gain)

    def forward(self, global_feat, parts, branches=BRANCHES):
        out = {}
        if "g" in branches:
            out["g"] = global_feat.mean(1)
        if "a" in branches:
            summed = parts.mean(2) if self.part_mean else parts.sum(2)
            out["a"] = (self.gate_a(summed) + global_feat).mean(1)
        if "c" in branches:
            aligned = self.gate_c(self.reduce(parts).flatten(2))
            aligned = F.pad(aligned, (0, self.channels - aligned.shape[-1]))
            out["c"] = (aligned + global_feat).mean(1)
        return out
