"""Multi-scale part features and global feature of CTL (Sec. 3.1, Eq. 1).

The three partitions (17 key-points, 10 low-level parts, 5 high-level parts)
are fixed in `ctl_plugin/keypoints/skeleton.py`; a part feature is the mean of
its key-point features, so every scale is one matrix product with V_s1.
"""
import torch
from torch import nn

from ...config import ConfigError
from ...keypoints import skeleton


def node_layout(scales):
    """Joint node order of several scales: (sizes, offsets) with scales in the given order."""
    sizes = [skeleton.SCALE_SIZES[s] for s in scales]
    offsets = [sum(sizes[:i]) for i in range(len(sizes))]
    return sizes, offsets


class PartFeatures(nn.Module):
    """Eq. 1: V_s1 = g_GAP(F_t (x) m_s1^t) and V_g = g_GAP(F), then V_s2, V_s3 by averaging.

    Open choice: with softmax-normalised heat-maps (each sums to 1 over the h*w
    cells) we take the weighted sum sum_yx m(y,x) F(y,x), i.e. h*w times the
    literal g_GAP, so part features live on the scale of V_g; the literal mean
    would shrink them by h*w (128 for a 16 x 8 map).

    forward(fmaps [B, T, C, h, w], heatmaps [B, T, 17, h, w]) ->
        (V_g [B, T, C], nodes [B, T, N, C]) with the nodes of `scales` concatenated
        in the order given (N = sum of their sizes).
    """

    def __init__(self, scales):
        super().__init__()
        for s in scales:
            if s not in skeleton.SCALE_SIZES:
                raise ConfigError(f"CTL.CROSS_SCALE.SCALES: unknown scale {s!r}; expected one of "
                               f"{sorted(skeleton.SCALE_SIZES)}")
        self.scales = tuple(scales)
        pooling = torch.cat([torch.from_numpy(skeleton.pooling_matrix(s)) for s in self.scales])
        self.register_buffer("pooling", pooling, persistent=False)  # [N, 17]

    @staticmethod
    def keypoint_features(fmaps, heatmaps):
        """Eq. 1 at s1: (V_g [B, T, C], V_s1 [B, T, 17, C])."""
        if heatmaps.shape[:2] != fmaps.shape[:2] or heatmaps.shape[-2:] != fmaps.shape[-2:]:
            raise ValueError(f"heat-maps {tuple(heatmaps.shape)} do not match feature maps "
                             f"{tuple(fmaps.shape)}: expected [B, T, 17, h, w] with the same B, T, h, w")
        global_feat = fmaps.mean((-2, -1))
        return global_feat, torch.einsum("btkyx,btcyx->btkc", heatmaps.to(fmaps.dtype), fmaps)

    def forward(self, fmaps, heatmaps):
        global_feat, keypoint_feat = self.keypoint_features(fmaps, heatmaps)
        nodes = torch.einsum("nk,btkc->btnc", self.pooling.to(fmaps.dtype), keypoint_feat)
        return global_feat, nodes
