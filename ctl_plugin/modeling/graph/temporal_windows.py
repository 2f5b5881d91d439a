"""Sliding temporal windows of the 3D-GCL (Sec. 3.3)."""
import torch.nn.functional as F

from ...config import ConfigError


def sliding_windows(x, window):
    """[B, T, N, ...] -> [B, T, window * N, ...]: window t holds frames t - r .. t + r
    (r = (window - 1) / 2), frames outside the clip being zeros, so there are T
    windows (the paper's zero padding). Nodes are ordered frame-major.

    Open choice: the paper does not say where a window sits relative to its
    frame; we centre it, which needs an odd window.
    """
    if window < 1 or window % 2 == 0:
        raise ConfigError(f"CTL.GCL.WINDOW must be a positive odd number, got {window}")
    r = window // 2
    b, t, n = x.shape[:3]
    rest = x.shape[3:]
    flat = x.reshape(b, t, n * rest.numel())
    padded = F.pad(flat.transpose(1, 2), (r, r)).transpose(1, 2)  # [B, T + 2r, n * rest]
    win = padded.unfold(1, window, 1)  # [B, T, n * rest, window]
    return win.movedim(-1, 2).reshape(b, t, window * n, *rest)
