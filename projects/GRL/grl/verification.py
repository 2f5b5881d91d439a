"""Pair verification: is a probe video the same person as a gallery video?"""
import torch.nn.functional as F
from torch import nn


class PairVerification(nn.Module):
    """Two-way classifier on the squared difference of two video features:
    logits_ij = W BN((p_i - g_j)^2) + b, for every probe i and gallery j."""

    def __init__(self, channels):
        super().__init__()
        self.norm = nn.BatchNorm1d(channels)
        self.classifier = nn.Linear(channels, 2)
        nn.init.normal_(self.classifier.weight, std=0.001)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, probe, gallery):
        """probe [P, C], gallery [G, C] -> logits [P, G, 2] (index 1: same identity)."""
        diff = (probe[:, None, :] - gallery[None, :, :]).pow(2)
        return self.classifier(self.norm(diff.flatten(0, 1))).unflatten(0, diff.shape[:2])


def verification_loss(logits, probe_targets, gallery_targets):
    """Mean two-way cross-entropy over all P x G pairs, label 1 where the identities match
    (equal to the official binary cross-entropy on the softmax score of "same")."""
    same = (probe_targets[:, None] == gallery_targets[None, :]).long()
    return F.cross_entropy(logits.flatten(0, 1), same.flatten())
