"""Drawing of STMN's memory addressing for one tracklet clip, with matplotlib."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def draw_addressing(spatial, temporal, attention, path, frames=None, size=(800, 480), dpi=100):
    """Write a PNG of `size` = (width, height) pixels showing, for one clip:

    row 1, per frame: the spatial memory item each position reads most (Eq. 1),
    over the frame when `frames` [T, 3, H, W] (0-255) is given;
    row 2: the mean spatial addressing of each frame over its positions [M x T],
    the temporal memory addressing (Eq. 5) and the frame attention (Eq. 6).
    spatial [T, h, w, M], temporal [N], attention [T]: tensors or arrays.
    """
    spatial, temporal, attention = (np.asarray(x, dtype=np.float64) for x in (spatial, temporal, attention))
    if spatial.ndim != 4 or temporal.ndim != 1 or attention.shape != spatial.shape[:1]:
        raise ValueError(f"draw_addressing expects spatial [T, h, w, M], temporal [N], attention [T]; "
                         f"got {spatial.shape}, {temporal.shape}, {attention.shape}")
    t, h, w, m = spatial.shape
    fig = plt.figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi, layout="constrained")
    grid = fig.add_gridspec(2, max(t, 3))
    cmap = plt.get_cmap("tab10" if m <= 10 else "tab20", m)
    for i in range(t):
        ax = fig.add_subplot(grid[0, i])
        if frames is not None:
            image = np.asarray(frames[i], dtype=np.float64).transpose(1, 2, 0) / 255.0
            ax.imshow(image.clip(0, 1))
            extent = (-0.5, image.shape[1] - 0.5, image.shape[0] - 0.5, -0.5)
            ax.imshow(spatial[i].argmax(-1), cmap=cmap, vmin=-0.5, vmax=m - 0.5, alpha=0.5,
                      extent=extent, interpolation="nearest")
        else:
            ax.imshow(spatial[i].argmax(-1), cmap=cmap, vmin=-0.5, vmax=m - 0.5, interpolation="nearest")
        ax.set_title(f"frame {i}", fontsize=7)
        ax.axis("off")
    columns = max(t, 3)
    thirds = [slice(0, columns // 3), slice(columns // 3, 2 * columns // 3), slice(2 * columns // 3, columns)]
    ax = fig.add_subplot(grid[1, thirds[0]])
    ax.imshow(spatial.mean(axis=(1, 2)).T, aspect="auto", cmap="viridis")
    ax.set_xlabel("frame", fontsize=7)
    ax.set_ylabel("spatial item", fontsize=7)
    ax = fig.add_subplot(grid[1, thirds[1]])
    ax.bar(np.arange(len(temporal)), temporal, color="tab:orange")
    ax.set_xlabel("temporal item", fontsize=7)
    ax = fig.add_subplot(grid[1, thirds[2]])
    ax.bar(np.arange(t), attention, color="tab:green")
    ax.set_xlabel("frame attention", fontsize=7)
    for ax in fig.axes:
        ax.tick_params(labelsize=6)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
