"""What a CTL model does with its parts, measured (`tools/ctl_diagnostics.py`).

- `heatmap_mass_near_keypoints`: how much of each normalised heat-map (Eq. 1) lies
  on its key-point, i.e. whether a key-point feature pools a part or the whole map;
- `part_global_cosine`: how close the Eq. 1 key-point features are to V_g;
- `branch_statistics`: per fused branch (g, a, c, Sec. 3.5), the feature norm, its
  losses, and the norm of their gradient on the backbone's feature maps;
- `branch_results`: Rank-1 and mAP when each branch is the test feature.
"""
import copy

import torch
import torch.nn.functional as F
from fastreid.utils.events import EventStorage

from ..modeling.graph.fusion import BRANCHES


def keypoint_cells(keypoints, image_size, feature_size):
    """Feature-cell (row, col) [..., 17, 2] of key-points [..., 17, 3] given in input pixels."""
    (big_h, big_w), (h, w) = image_size, feature_size
    col = ((keypoints[..., 0] + 0.5) * w / big_w - 0.5).round().clamp(0, w - 1)
    row = ((keypoints[..., 1] + 0.5) * h / big_h - 0.5).round().clamp(0, h - 1)
    return torch.stack([row, col], -1).long()


def heatmap_mass_near_keypoints(heatmaps, keypoints, image_size, radius=1):
    """Mean share of a normalised map's mass within `radius` cells (Chebyshev distance) of
    its key-point's cell, over the key-points of confidence > 0, and the share a
    uniform map would put there.

    heatmaps [..., 17, h, w] (each sums to 1), keypoints [..., 17, 3] (input pixels, confidence).
    """
    h, w = heatmaps.shape[-2:]
    cells = keypoint_cells(keypoints, image_size, (h, w))
    ys = torch.arange(h).view(h, 1)
    xs = torch.arange(w).view(1, w)
    near = ((ys - cells[..., 0, None, None]).abs() <= radius) & ((xs - cells[..., 1, None, None]).abs() <= radius)
    visible = keypoints[..., 2] > 0
    if not visible.any():
        return float("nan"), float("nan")
    mass = (heatmaps * near).sum((-2, -1))[visible]
    uniform = near.float().mean((-2, -1))[visible]
    return float(mass.mean()), float(uniform.mean())


def part_global_cosine(keypoint_features, global_features):
    """Mean cosine of key-point features [..., N, C] with the global feature [..., C] of their frame."""
    return float(F.cosine_similarity(keypoint_features, global_features.unsqueeze(-2), dim=-1).mean())


def branch_statistics(model, batch):
    """{branch: {"feature norm", "loss_cls", "loss_triplet", "grad norm"}} of one training
    batch, on a copy of the model in training mode (the model itself is untouched).
    "grad norm" is the norm of d(branch losses)/d(backbone feature maps)."""
    model = copy.deepcopy(model).train()
    targets = batch["targets"].to(model.device)
    with EventStorage():
        fmaps = model.frame_features(model.preprocess_image(batch))
        outputs = model.video_head(fmaps, batch, targets)
        losses = model.losses(outputs, targets)
        stats = {}
        for b in BRANCHES:
            own = {k[:-len(b) - 1]: v for k, v in losses.items() if k.endswith(f"_{b}")}
            grad, = torch.autograd.grad(sum(own.values()), fmaps, retain_graph=True)
            stats[b] = {"feature norm": float(outputs["branches"][b]["features"].flatten(1).norm(dim=1).mean()),
                        **{name: float(value) for name, value in own.items()},
                        "grad norm": float(grad.norm())}
    return stats


@torch.no_grad()
def keypoint_statistics(model, batch):
    """Heat-map mass near the key-points and the key-point/global cosine of one batch of
    clips with cached key-points (model in eval mode)."""
    model.eval()
    fmaps = model.frame_features(model.preprocess_image(batch))
    heatmaps = model.keypoint_heatmaps(batch, fmaps.shape[-2:])
    global_feat, keypoint_feat = model.graph.part_features.keypoint_features(fmaps, heatmaps)
    mass, uniform = heatmap_mass_near_keypoints(heatmaps.cpu(), batch["keypoints"].cpu(),
                                                batch["images"].shape[-2:])
    return {"heat-map mass within 1 cell of its key-point": mass,
            "the same for a uniform map": uniform,
            "cosine(key-point feature, V_g)": part_global_cosine(keypoint_feat, global_feat)}


def branch_results(cfg, model, test):
    """{branch: results of `test(cfg, model)`} with each branch as the test feature."""
    original = model.inference_branch
    out = {}
    try:
        for b in BRANCHES:
            model.set_inference_branch(b)
            out[b] = test(cfg, model)
    finally:
        model.set_inference_branch(original)
    return out
