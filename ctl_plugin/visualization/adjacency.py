"""CTL's learned topology as labelled matrices: the mask A^m and the mean context A^c
(Sec. 3.2, Eq. 2-3), per graph layer and per scale."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from ..keypoints.skeleton import NAMES, PARTS_5_NAMES, PARTS_10_NAMES

NODE_NAMES = {"s1": NAMES, "s2": PARTS_10_NAMES, "s3": PARTS_5_NAMES}


def learned_masks(model, batch):
    """{(layer, scale): A^m [N_s, N_s]} of every graph layer of a CTL model that has a mask."""
    return {key: t["mask"].cpu().numpy() for key, t in model.topology(batch).items() if t["mask"] is not None}


@torch.no_grad()
def mean_contexts(model, batches):
    """{(layer, scale): mean A^c [N_s, N_s]} over every clip, frame and window block of
    `batches` (fast-reid test batches), the model in eval mode."""
    was_training = model.training
    model.eval()
    sums, counts = {}, {}
    try:
        for batch in batches:
            for key, t in model.topology(batch).items():
                if t["context"] is None:
                    continue
                c = t["context"].float()
                blocks = c.reshape(-1, *c.shape[-4:])  # [windows, tau, N, tau, N]
                sums[key] = sums.get(key, 0) + blocks.mean(dim=(1, 3)).sum(0)
                counts[key] = counts.get(key, 0) + len(blocks)
    finally:
        model.train(was_training)
    return {key: (total / counts[key]).cpu().numpy() for key, total in sums.items()}


def draw_adjacency(matrix, names, title, path, cell_px=28, dpi=100):
    """A square matrix as a heat-map with node names on both axes and values in the cells."""
    matrix = np.asarray(matrix, dtype=np.float64)
    n = len(names)
    if matrix.shape != (n, n):
        raise ValueError(f"matrix has shape {matrix.shape} but {n} node names were given")
    side = (n * cell_px + 160) / dpi
    fig = plt.figure(figsize=(side + 1.0, side), dpi=dpi)
    try:
        ax = fig.add_axes([140 / dpi / (side + 1.0), 140 / dpi / side, n * cell_px / dpi / (side + 1.0),
                           n * cell_px / dpi / side])
        bound = max(np.abs(matrix).max(), 1e-12)
        im = ax.imshow(matrix, cmap="coolwarm", vmin=-bound, vmax=bound)
        ax.set_xticks(range(n), names, rotation=90, fontsize=7)
        ax.set_yticks(range(n), names, fontsize=7)
        ax.set_title(title, fontsize=9)
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=5)
        fig.colorbar(im, ax=ax, fraction=0.05)
        fig.savefig(path, dpi=dpi, format="png", bbox_inches="tight", pad_inches=0.1)
    finally:
        plt.close(fig)
