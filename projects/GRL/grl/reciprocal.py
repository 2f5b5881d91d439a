"""Temporal Reciprocal Learning (TRL): the frames of a clip are visited forward and
backward in time; at every step a memory of low-correlation clues decides which
channels of the current high-correlation feature to enhance, then absorbs the
frame's low-correlation feature."""
import torch
from torch import nn


class MemoryAccumulator(nn.Module):
    """Memory update M <- ReLU(M + X + bottleneck(M + X)), X the frame's low-correlation
    map; a 1x1 bottleneck of width C/4 with batch norm, as in the official code."""

    def __init__(self, channels):
        super().__init__()
        width = channels // 4
        self.bottleneck = nn.Sequential(
            nn.Conv2d(channels, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, channels, 1, bias=False), nn.BatchNorm2d(channels))

    def forward(self, memory, low):
        merged = memory + low
        return torch.relu(merged + self.bottleneck(merged))


class ReciprocalStep(nn.Module):
    """One TRL step of one direction.

    a = sigmoid(W2 ReLU(W1 mean_hw[(phi(M) - psi(H_t))^2])) is a channel attention
    computed from the discrepancy between memory M and the frame's high-correlation
    map H_t (phi, psi: 1x1 conv + ReLU); the step outputs mean_hw[H_t * (1 + a)]
    = (1 + a) mean_hw[H_t] and the updated memory.
    """

    def __init__(self, channels, reduction):
        super().__init__()
        self.memory_proj = nn.Sequential(nn.Conv2d(channels, channels, 1), nn.ReLU(inplace=True))
        self.frame_proj = nn.Sequential(nn.Conv2d(channels, channels, 1), nn.ReLU(inplace=True))
        self.channel_gate = nn.Sequential(
            nn.Linear(channels, channels // reduction, bias=False), nn.ReLU(inplace=True),
            nn.Linear(channels // reduction, channels, bias=False), nn.Sigmoid())
        self.accumulate = MemoryAccumulator(channels)

    def forward(self, memory, high, low):
        """memory, high, low: [B, C, h, w] -> (enhanced feature [B, C], new memory [B, C, h, w])."""
        return self.advance(memory, self.frame_proj(high), high.mean(dim=(2, 3)), low)

    def advance(self, memory, projected, pooled, low):
        """The step from psi(H_t) and mean_hw[H_t], which do not depend on the memory
        (`TemporalReciprocalLearning` computes them for every frame at once)."""
        discrepancy = (self.memory_proj(memory) - projected).pow(2).mean(dim=(2, 3))
        gate = self.channel_gate(discrepancy)
        return pooled * (1 + gate), self.accumulate(memory, low)


class TemporalReciprocalLearning(nn.Module):
    """Both directions of TRL over clips [B, T, C, h, w].

    Each direction starts from the temporal mean of the low-correlation maps. The
    frame features are the sum of the two directions' outputs for the same frame
    [B, T, C]; the low-correlation video feature is the sum of the spatially pooled
    final memories [B, C].
    """

    def __init__(self, channels, reduction):
        super().__init__()
        self.forward_step = ReciprocalStep(channels, reduction)
        self.backward_step = ReciprocalStep(channels, reduction)

    @staticmethod
    def run_direction(step, high, low, order):
        """Apply `step` over the frames in `order`; outputs come back in frame order. The
        frame projections psi(H_t) of all frames are one convolution, outside the recurrence."""
        b, t = high.shape[:2]
        projected = step.frame_proj(high.flatten(0, 1)).unflatten(0, (b, t))
        pooled = high.mean(dim=(3, 4))
        memory = low.mean(dim=1)
        outputs = [None] * t
        for i in order:
            outputs[i], memory = step.advance(memory, projected[:, i], pooled[:, i], low[:, i])
        return torch.stack(outputs, dim=1), memory.mean(dim=(2, 3))

    def forward(self, high, low):
        frames = range(high.shape[1])
        fwd_frames, fwd_low = self.run_direction(self.forward_step, high, low, frames)
        bwd_frames, bwd_low = self.run_direction(self.backward_step, high, low, reversed(frames))
        return fwd_frames + bwd_frames, fwd_low + bwd_low
