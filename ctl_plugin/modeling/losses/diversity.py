"""Diversity regularisation of CTL (Eq. 8)."""
import torch
import torch.nn.functional as F


def diversity_loss(parts):
    """L_div = ||V_p V_p^T - I||_F^2 (Eq. 8) on V_p [B, T, N, C], temporally averaged and
    L2-normalised per part first, as the paper states.

    Open choice: the per-tracklet losses are averaged over the batch.
    """
    v = F.normalize(parts.mean(1), dim=-1)  # [B, N, C]
    gram = v @ v.transpose(-1, -2)
    eye = torch.eye(gram.shape[-1], dtype=gram.dtype, device=gram.device)
    return (gram - eye).pow(2).sum((-2, -1)).mean()
