"""Global-guided Correlation Estimation (GCE): a correlation map between every local
feature of a frame and the global feature of its clip, which splits each frame
feature map into a high-correlation and a low-correlation part."""
import torch
import torch.nn.functional as F
from torch import nn


class GlobalGuidedCorrelation(nn.Module):
    """GCE for clips of frame feature maps [B, T, C, h, w].

    The global feature g = mean over time and space of the clip, embedded by
    FC-BN-ReLU, is concatenated to every local feature; three 1x1 convolutions
    with batch norm score each location, and a sigmoid gives the map R in (0, 1).
    Returns (R * F, (1 - R) * F, R). Widths follow the official code at C = 2048:
    embedding C/2, hidden C/2 then C/8.

    The first convolution of the concatenation [f; g] is W [f; g] = W_f f + W_g g, and
    g is the same at every location of a clip: W_g g is computed once per clip.
    """

    def __init__(self, channels):
        super().__init__()
        embed, hidden = channels // 2, channels // 8
        self.global_embed = nn.Sequential(
            nn.Linear(channels, embed), nn.BatchNorm1d(embed), nn.ReLU(inplace=True))
        self.estimator = nn.Sequential(
            nn.Conv2d(channels + embed, embed, 1, bias=False), nn.BatchNorm2d(embed),
            nn.Conv2d(embed, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, 1, 1, bias=False), nn.BatchNorm2d(1))

    def forward(self, fmaps):
        b, t, c, h, w = fmaps.shape
        guide = self.global_embed(fmaps.mean(dim=(1, 3, 4)))
        weight = self.estimator[0].weight
        local = F.conv2d(fmaps.flatten(0, 1), weight[:, :c]).unflatten(0, (b, t))
        guided = local + (guide @ weight[:, c:, 0, 0].t())[:, None, :, None, None]
        scores = self.estimator[1:](guided.flatten(0, 1))
        corr = torch.sigmoid(scores).unflatten(0, (b, t))
        return fmaps * corr, fmaps * (1 - corr), corr
