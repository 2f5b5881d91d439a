"""Temporal self-attention pooling of frame features into one video feature."""
import torch
import torch.nn.functional as F
from torch import nn


class TemporalSelfAttentionPooling(nn.Module):
    """v = normalise(sum_i sum_j A_ij f_j), A = softmax_j(q_i . k_j) over the T frames,
    q and k the L2-normalised FC-BN projections of the frame features f [B, T, C]."""

    def __init__(self, channels, dim):
        super().__init__()
        self.query = nn.Sequential(nn.Linear(channels, dim), nn.BatchNorm1d(dim))
        self.key = nn.Sequential(nn.Linear(channels, dim), nn.BatchNorm1d(dim))

    def forward(self, frames):
        q = F.normalize(self.query(frames.flatten(0, 1)), dim=1).unflatten(0, frames.shape[:2])
        k = F.normalize(self.key(frames.flatten(0, 1)), dim=1).unflatten(0, frames.shape[:2])
        attention = torch.softmax(q @ k.transpose(1, 2), dim=-1)
        return F.normalize((attention @ frames).sum(dim=1), dim=1)
