"""Key-point heat-maps at the backbone's feature resolution (CTL Eq. 1).

Eq. 1 pools key-point features with heat-maps "normalised with a softmax
function": `normalize_heatmaps` is that spatial softmax, applied to estimator
outputs (online mode) and to maps rendered from cached key-points alike.
"""
import torch


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


def normalize_heatmaps(heatmaps, temperature=1.0):
    """Spatial softmax of Eq. 1: each map [..., h, w] sums to 1 over its h * w cells."""
    shape = heatmaps.shape
    flat = heatmaps.reshape(*shape[:-2], shape[-2] * shape[-1]).float() / temperature
    return torch.softmax(flat, dim=-1).reshape(shape)
