"""Graph convolution layers of CTL: the 3D-GCL (Sec. 3.3, Eq. 3-4) and, as its
frame-level special case, the plain GCN of Table 3's "+ContRe" row.

The nodes of all scales form one graph, block-diagonal by scale, so one layer
updates every scale in a single batched product. Eq. 4 indexes W^l by layer
only, so W^l (and the window-collapsing convolution) is shared by the scales.
"""
import torch
from torch import nn

from ...config import ConfigError
from .context_block import ContextBlock
from .onednn_linear import Linear
from .stages import stage
from .temporal_windows import sliding_windows

# CTL.GCL.MODE of one graph layer: the 3D-GCL (Eq. 3-4) or the frame-level GCN (Table 3 "+ContRe")
LAYER_MODES = ("3d", "frame")


def normalize_adjacency(a_hat):
    """D^-1/2 Â D^-1/2 with D_ii = sum_j Â_ij (Eq. 4), over the last two dims.

    Open choice: A^m and A^c may be negative, so a degree can fall to or below
    zero; degrees are floored at 1, the degree a node has from its self-loop alone.
    """
    d = a_hat.sum(-1).clamp(min=1.0).rsqrt()
    return d.unsqueeze(-1) * a_hat * d.unsqueeze(-2)


class GraphConvLayer(nn.Module):
    """One graph layer on node features [B, T, N, C] -> [B, T, N, C].

    mode "3d" (Eq. 3-4): over the T zero-padded windows of tau frames,
        Â_t = A^(tau),p + A^(tau),m + A^(tau),c_t + I,
        [X]_t <- ReLU(D^-1/2 Â_t D^-1/2 [X^(tau)]_t W),
      then a convolution over (window, channels) + BN + ReLU collapses the
      window back to one node per frame.
    mode "frame": the same with tau = 1, the frame-level context block (Fig. 4a)
      and no collapsing convolution: ReLU(D^-1/2 Â D^-1/2 X_t W), the original GCN.

    Open choice (Eq. 3): the block (i, j) of A^(tau),p links a node to its
    skeleton neighbours and to itself in frame j, i.e. A^(tau),p + I is A^p + I
    tiled tau x tau; A^(tau),m tiles A^m. physical: A^p [N, N] of the joint graph
    (block-diagonal by scale); node_groups [N]: scale id of each node. A^m is a
    learnable [N, N] matrix kept block-diagonal by a fixed support mask.
    """

    def __init__(self, channels, physical, node_groups, mode, window, num_frames,
                 use_mask=True, use_context=True):
        super().__init__()
        if mode not in LAYER_MODES:
            raise ConfigError(f"CTL.GCL.MODE of a graph layer: expected one of {LAYER_MODES}, got {mode!r}")
        physical = torch.as_tensor(physical, dtype=torch.float32)
        groups = torch.as_tensor(node_groups)
        n = physical.shape[0]
        self.mode = mode
        self.window = window if mode == "3d" else 1
        self.num_nodes = n
        eye = torch.eye(n)
        self.register_buffer("static", (physical + eye).repeat(self.window, self.window), persistent=False)
        self.register_buffer("mask_support", (groups[:, None] == groups[None, :]).float(), persistent=False)
        self.mask = nn.Parameter(torch.zeros(n, n)) if use_mask else None
        if use_context:
            self.context = (ContextBlock(channels, groups, window=self.window) if mode == "3d"
                            else ContextBlock(channels, groups, num_frames=num_frames))
        else:
            self.context = None
        self.transform = Linear(channels, channels)  # W^l
        if mode == "3d":
            self.collapse = Linear(self.window * channels, channels)
            self.bn = nn.BatchNorm1d(channels)

    def learned_mask(self):
        """A^m [N, N] (block-diagonal by scale), or None without the mask."""
        return None if self.mask is None else self.mask * self.mask_support

    def adjacency(self, x):
        """Â (with self-loops) of every window: [tau N, tau N], or [B, T|1, tau N, tau N] with A^c."""
        a = self.static
        if self.mask is not None:
            a = a + self.learned_mask().repeat(self.window, self.window)
        if self.context is not None:
            a = a + self.context(x)
        return a

    def propagate(self, a, xw):
        """ReLU(Â_t [X^(tau) W]_t) of Eq. 3-4 for every window: normalised adjacency a
        [.., tau N, tau N] and frame features X W [B, T, N, C] -> [B, T, tau N, C]."""
        return torch.relu(a @ sliding_windows(xw, self.window))

    def collapse_windows(self, y):
        """The tau node copies of each window [B, T, tau N, C] -> one node per frame
        [B, T, N, C]: convolution over (window, channels), BN, ReLU."""
        y = y.unflatten(2, (self.window, self.num_nodes)).transpose(2, 3).flatten(3)  # [B, T, N, tau C]
        y = self.collapse(y)
        return torch.relu(self.bn(y.flatten(0, 2)).view_as(y))

    def normalized_adjacency(self, x):
        """D^-1/2 Â D^-1/2 of Eq. 3-4 for nodes x [B, T, N, C]."""
        return normalize_adjacency(self.adjacency(x))

    def forward(self, x, observe=None):
        """x [B, T, N, C] -> [B, T, N, C]; `observe` as in `graph.stages`."""
        if observe is not None and self.context is not None:  # runs inside the adjacency
            observe("context block A^c (Fig. 4)", self.context, (x,))
        a = stage(observe, "adjacency, D^-1/2 Â D^-1/2 (Eq. 3-4)", self.normalized_adjacency, x)
        xw = stage(observe, "X W (Eq. 4)", self.transform, x)
        y = stage(observe, "ReLU(Â X^(tau) W) over windows (Eq. 3-4)", self.propagate, a, xw)
        if self.mode == "frame":
            return y
        return stage(observe, "window collapse (tau C -> C) + BN + ReLU", self.collapse_windows, y)
