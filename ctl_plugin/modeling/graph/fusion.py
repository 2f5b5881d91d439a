"""Fusion block of CTL (Sec. 3.5): three video features from V_g and V_p."""
import torch.nn.functional as F
from torch import nn

BRANCHES = ("g", "a", "c")


class FusionBlock(nn.Module):
    """V_g [B, T, C], V_p [B, T, N, C] -> {"g", "a", "c"}: [B, C] each.

        V_f^g = g_TAP(V_g)
        V_f^a = g_TAP(sum_n [V_p]_n + V_g)
        V_f^c = g_TAP([g_c([V_p]_1), ..., g_c([V_p]_N)] + V_g)

    g_c is one 1x1 convolution (shared by the parts) from C to C // N channels.
    Open choice: when N does not divide C (2048 / 5) the concatenation has
    N * (C // N) channels and is zero-padded to C, so the last C mod N channels of
    V_f^c come from V_g alone.
    """

    def __init__(self, channels, num_parts):
        super().__init__()
        self.reduce = nn.Linear(channels, channels // num_parts, bias=False)  # g_c
        self.channels = channels

    def forward(self, global_feat, parts, branches=BRANCHES):
        out = {}
        if "g" in branches:
            out["g"] = global_feat.mean(1)
        if "a" in branches:
            out["a"] = (parts.sum(2) + global_feat).mean(1)
        if "c" in branches:
            aligned = self.reduce(parts).flatten(2)
            aligned = F.pad(aligned, (0, self.channels - aligned.shape[-1]))
            out["c"] = (aligned + global_feat).mean(1)
        return out
