"""mAP against training iterations, one line per setting: the mean over its seeds, each seed faint."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def mean_curve(curves):
    """The mean over seeds of [[iteration, mAP], ...] curves, at the iterations all of them share."""
    shared = sorted(set.intersection(*(set(it for it, _ in c) for c in curves)))
    values = [dict(map(tuple, c)) for c in curves]
    return [[it, float(np.mean([v[it] for v in values]))] for it in shared]


def draw_map_curves(curves_by_setting, path, title="", size_px=(480, 720), dpi=100):
    """{setting: [curve of each seed]} -> PNG of size_px (H, W); returns {setting: its mean curve}."""
    means = {}
    fig = plt.figure(figsize=(size_px[1] / dpi, size_px[0] / dpi), dpi=dpi)
    try:
        ax = fig.add_subplot(1, 1, 1)
        for colour, (setting, curves) in zip(plt.get_cmap("tab10").colors, curves_by_setting.items()):
            for curve in curves:
                ax.plot(*np.asarray(curve, np.float64).T, color=colour, alpha=0.25, linewidth=1)
            means[setting] = mean_curve(curves)
            ax.plot(*np.asarray(means[setting]).T, color=colour, marker="o", linewidth=2,
                    label=f"{setting} ({len(curves)} seeds)")
        ax.set_xlabel("training iterations")
        ax.set_ylabel("mAP (%)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize="small")
        fig.tight_layout()
        fig.savefig(path, dpi=dpi, format="png")
    finally:
        plt.close(fig)
    return means
