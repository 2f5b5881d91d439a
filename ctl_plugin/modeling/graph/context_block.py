"""Context blocks of CTL (Sec. 3.2, Fig. 4): the data-dependent adjacency A^c.

All scales of the model form one graph whose adjacency is block-diagonal by
scale, so one block serves every scale at once; each scale keeps its own
weights (a scale's A^c depends only on that scale's nodes).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from .temporal_windows import sliding_windows


class BlockDiagonalExpansion(nn.Module):
    """The last 1x1 convolution of Fig. 4: a vector v [..., M] -> matrix [..., M, M] with
    out[i, j] = b[i, j] + sum_k W[i, j, k] v[k], where i, j, k range over one group
    (scale) only, entries across groups being zero. Each group's weights are those
    of a dense (n -> n * n) 1x1 convolution, stored flat."""

    def __init__(self, groups):
        super().__init__()
        groups = torch.as_tensor(groups)
        m = len(groups)
        same = groups[:, None] == groups[None, :]
        triples = (same[:, :, None] & same[:, None, :]).flatten()  # (i, j, k) in one group
        self.register_buffer("weight_index", triples.nonzero().flatten(), persistent=False)
        self.register_buffer("bias_index", same.flatten().nonzero().flatten(), persistent=False)
        fan_in = torch.bincount(groups)[groups].float()  # nodes in the group of row i
        bound_w = (1.0 / fan_in.sqrt())[:, None, None].expand(m, m, m).flatten()[self.weight_index]
        bound_b = (1.0 / fan_in.sqrt())[:, None].expand(m, m).flatten()[self.bias_index]
        self.weight = nn.Parameter((torch.rand(len(bound_w)) * 2 - 1) * bound_w)
        self.bias = nn.Parameter((torch.rand(len(bound_b)) * 2 - 1) * bound_b)
        self.size = m

    def dense(self):
        """(W [M, M, M], b [M, M]) with the zeros across groups."""
        m = self.size
        w = self.weight.new_zeros(m ** 3).scatter(0, self.weight_index, self.weight)
        b = self.bias.new_zeros(m ** 2).scatter(0, self.bias_index, self.bias)
        return w.view(m, m, m), b.view(m, m)

    def forward(self, v):
        w, b = self.dense()
        m = self.size
        return (v @ w.view(m * m, m).t()).unflatten(-1, (m, m)) + b


class ContextBlock(nn.Module):
    """Fig. 4(a) (`window=None`) and Fig. 4(b) (`window=tau`), rows L2-normalised.

    node_groups [N]: scale id of each node of the joint graph.
    Fig. 4(a): node features [B, T, N, C] -> 1x1 conv squeezing C -> [B, T, N]
      -> 1x1 conv squeezing T -> [B, N] -> 1x1 conv to N x N -> A^c [B, 1, N, N]
      (one frame-level matrix for the clip, broadcast over frames).
    Fig. 4(b): squeeze C, take the sliding windows of Eq. 3 -> [B, T, tau N]
      -> 1x1 conv to (tau N) x (tau N) -> A^(tau),c [B, T, tau N, tau N], one per window.

    Open choices: each scale has its own squeeze and expansion weights; the
    squeezes have no bias (so a zero-padded frame stays zero after squeezing) and
    no non-linearity between them (the paper names none); Fig. 4(a) needs the
    clip length T it was built for.
    """

    def __init__(self, channels, node_groups, num_frames=None, window=None):
        super().__init__()
        if (num_frames is None) == (window is None):
            raise ValueError("ContextBlock needs exactly one of num_frames (Fig. 4a) or window (Fig. 4b)")
        groups = torch.as_tensor(node_groups)
        num_groups = int(groups.max()) + 1
        self.register_buffer("groups", groups, persistent=False)
        self.squeeze_feature = nn.Parameter(torch.randn(num_groups, channels) / math.sqrt(channels))
        self.window = window
        self.num_frames = num_frames
        if num_frames is not None:
            self.squeeze_time = nn.Parameter(torch.randn(num_groups, num_frames) / math.sqrt(num_frames))
            self.expand = BlockDiagonalExpansion(groups)
        else:
            self.expand = BlockDiagonalExpansion(groups.repeat(window))

    def forward(self, x):
        squeezed = torch.einsum("btnc,nc->btn", x, self.squeeze_feature[self.groups])
        if self.num_frames is not None:
            if x.shape[1] != self.num_frames:
                raise ValueError(f"the context block was built for clips of {self.num_frames} frames "
                                 f"(VIDEO.TRAIN.SEQ_LEN) but got {x.shape[1]}; set VIDEO.TEST.SEQ_LEN "
                                 f"to the same length")
            vec = torch.einsum("btn,nt->bn", squeezed, self.squeeze_time[self.groups]).unsqueeze(1)
        else:
            vec = sliding_windows(squeezed.unsqueeze(-1), self.window).squeeze(-1)
        return F.normalize(self.expand(vec), dim=-1)
