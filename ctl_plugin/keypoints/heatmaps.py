"""Key-point heat-maps at the backbone's feature resolution (CTL Eq. 1).

Eq. 1 pools key-point features with heat-maps "normalised with a softmax
function": `normalize_heatmaps` makes each map a distribution over the feature
cells, applied to estimator outputs (online mode) and to maps rendered from cached
key-points alike. The paper does not scale the softmax's input; heat-maps in
[0, 1] (an estimator's, or rendered ones) then give nearly uniform maps
(KEYPOINTS.HEATMAP_NORM and SOFTMAX_TEMPERATURE choose the normalisation).
"""
import torch

from ..config import ConfigError


def render_heatmaps(keypoints, image_size, feature_size, sigma=1.0):
    """Render cached key-points as heat-maps.

    keypoints:    [..., 17, 3] (x, y in input pixels, confidence)
    image_size:   (H, W) of the network input
    feature_size: (h, w) of the feature map
    sigma:        Gaussian radius in feature cells
    Returns [..., 17, h, w]: confidence * exp(-d^2 / 2 sigma^2), d the distance in
    feature cells between the key-point and each cell centre. A key-point of
    confidence 0 gives an all-zero map, which the softmax turns into a uniform one.
    """
    big_h, big_w = image_size
    h, w = feature_size
    stride_y, stride_x = big_h / h, big_w / w
    kp = keypoints.to(torch.float32)
    cx = (kp[..., 0] + 0.5) / stride_x - 0.5  # key-point in feature-cell coordinates
    cy = (kp[..., 1] + 0.5) / stride_y - 0.5
    xs = torch.arange(w, dtype=torch.float32, device=kp.device)
    ys = torch.arange(h, dtype=torch.float32, device=kp.device)
    gx = torch.exp(-(xs - cx.unsqueeze(-1)) ** 2 / (2 * sigma ** 2))  # [..., 17, w]
    gy = torch.exp(-(ys - cy.unsqueeze(-1)) ** 2 / (2 * sigma ** 2))  # [..., 17, h]
    conf = kp[..., 2].clamp(min=0)
    return (conf.unsqueeze(-1).unsqueeze(-1) * gy.unsqueeze(-1) * gx.unsqueeze(-2))


HEATMAP_NORMS = ("softmax", "sum")


def normalize_heatmaps(heatmaps, mode="softmax", temperature=1.0):
    """Eq. 1's normalisation: each map [..., h, w] sums to 1 over its h * w cells.

    "softmax": softmax(m / temperature) over the cells (temperature 1: the paper's plain softmax);
    "sum":     m / sum(m), negative values clipped to 0; a map of zeros (a key-point
               of confidence 0) becomes uniform, as under the softmax.
    """
    shape = heatmaps.shape
    flat = heatmaps.reshape(*shape[:-2], shape[-2] * shape[-1]).float()
    if mode == "softmax":
        return torch.softmax(flat / temperature, dim=-1).reshape(shape)
    if mode == "sum":
        flat = flat.clamp(min=0)
        total = flat.sum(-1, keepdim=True)
        uniform = torch.full_like(flat, 1.0 / flat.shape[-1])
        return torch.where(total > 1e-8, flat / total.clamp(min=1e-8), uniform).reshape(shape)
    raise ConfigError(f"KEYPOINTS.HEATMAP_NORM '{mode}': expected one of {HEATMAP_NORMS}")
