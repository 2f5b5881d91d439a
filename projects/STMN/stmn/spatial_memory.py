"""Spatial memory of STMN (Sec. 3.2): items for recurring spatial distractors."""
import torch
from torch import nn

from .addressing import cosine_addressing


class SpatialMemory(nn.Module):
    """Refines frame feature maps by removing what the memory recalls at each position.

    At position k of frame i the query q_ik addresses the keys (Eq. 1), the read-out
    r_ik = sum_m p_ik(m) v_m (Eq. 2) is batch-normalised and subtracted from the
    value map, f_ik = f^o_ik - BN(r_ik) (Eq. 3), and the refined map is average-pooled
    into the frame feature. The BN starts at zero weight and bias, so the memory
    starts as a no-op, as in the official code.
    """

    def __init__(self, feat_dim, size):
        super().__init__()
        self.keys = nn.Parameter(torch.randn(size, feat_dim))
        self.values = nn.Parameter(torch.randn(size, feat_dim))
        self.read_norm = nn.BatchNorm1d(feat_dim)
        nn.init.zeros_(self.read_norm.weight)
        nn.init.zeros_(self.read_norm.bias)

    def forward(self, query_maps, value_maps):
        """query_maps, value_maps [N, C, h, w] -> dict:
        features [N, C] (refined, pooled frame features), addressing [N, h, w, M] (Eq. 1)."""
        if query_maps.shape != value_maps.shape:
            raise ValueError(f"spatial memory: query maps {tuple(query_maps.shape)} "
                             f"and value maps {tuple(value_maps.shape)} differ in shape")
        n, c, h, w = query_maps.shape
        queries = query_maps.permute(0, 2, 3, 1).reshape(-1, c)
        addressing = cosine_addressing(queries, self.keys)
        reads = self.read_norm(addressing @ self.values)
        reads = reads.view(n, h, w, c).permute(0, 3, 1, 2)
        features = (value_maps - reads).mean(dim=(2, 3))
        return {"features": features, "addressing": addressing.view(n, h, w, -1)}
