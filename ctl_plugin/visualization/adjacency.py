"""CTL's learned topology as labelled matrices: the mask A^m and the mean context A^c
(Sec. 3.2, Eq. 2-3), per graph layer and per scale."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from ..keypoints.skeleton import NAMES, PARTS_5_NAMES, PARTS_10_NAMES  # noqa: E402

NODE_NAMES = {"s1": NAMES, "s2": PARTS_10_NAMES, "s3": PARTS_5_NAMES}


def learned_masks(model):
    """{(layer, scale): A^m [N_s, N_s]} of every graph layer of a CTL model."""
    head = model.graph
    out = {}
    for i, layer in enumerate(head.layers):
        if layer.mask is None:
            continue
        a = (layer.mask * layer.mask_support).detach().cpu().numpy()
        for scale, sl in head.slices.items():
            out[i, scale] = a[sl, sl]
    return out


def window_mean(context, num_nodes):
    """[..., tau N, tau N] -> [N, N]: the mean over leading dims and the tau x tau frame blocks."""
    tau = context.shape[-1] // num_nodes
    blocks = context.reshape(-1, tau, num_nodes, tau, num_nodes)
    return blocks.mean(dim=(0, 1, 3))


@torch.no_grad()
def mean_contexts(model, batches):
    """{(layer, scale): mean A^c [N_s, N_s]} over all clips (and frames, and window
    blocks in 3D layers) of `batches`, fast-reid test batches run through `model`."""
    head = model.graph
    num_nodes = sum(sl.stop - sl.start for sl in head.slices.values())
    sums, counts, hooks = {}, {}, []

    def record(index):
        def hook(_module, _inputs, output):
            sums[index] = sums.get(index, 0) + window_mean(output.float(), num_nodes) * output.shape[0]
            counts[index] = counts.get(index, 0) + output.shape[0]
        return hook

    for i, layer in enumerate(head.layers):
        if layer.context is not None:
            hooks.append(layer.context.register_forward_hook(record(i)))
    was_training = model.training
    model.eval()
    try:
        for batch in batches:
            model(batch)
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    out = {}
    for i, total in sums.items():
        mean = (total / counts[i]).cpu().numpy()
        for scale, sl in head.slices.items():
            out[i, scale] = mean[sl, sl]
    return out


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
