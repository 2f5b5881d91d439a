"""Per-query average precision and its histogram."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def query_average_precisions(indices_by_rank, matches_by_rank, num_relevant):
    """AP of each query: mean over its relevant gallery items of the precision at the
    rank where each is found; from full rank lists `matches_by_rank` [Q, G] (bool,
    -1 padded `indices_by_rank` ignored) and the count of relevant items per query.
    Queries without a relevant item get NaN."""
    matches = np.asarray(matches_by_rank, dtype=bool) & (np.asarray(indices_by_rank) >= 0)
    hits = np.cumsum(matches, axis=1)
    ranks = np.arange(1, matches.shape[1] + 1)
    precision_at_hits = np.where(matches, hits / ranks, 0.0).sum(1)
    num_relevant = np.asarray(num_relevant, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(num_relevant > 0, precision_at_hits / num_relevant, np.nan)


def draw_ap_histogram(aps, path, bins=20, size_px=(480, 640), dpi=100):
    """Histogram of per-query AP in [0, 1] (NaN skipped), with mAP marked; PNG of size_px (H, W)."""
    aps = np.asarray(aps, dtype=np.float64)
    aps = aps[~np.isnan(aps)]
    fig = plt.figure(figsize=(size_px[1] / dpi, size_px[0] / dpi), dpi=dpi)
    try:
        ax = fig.add_subplot(1, 1, 1)
        ax.hist(aps, bins=bins, range=(0.0, 1.0), color="tab:blue", edgecolor="white")
        if len(aps):
            ax.axvline(aps.mean(), color="tab:red", linestyle="--", label=f"mAP = {aps.mean():.3f}")
            ax.legend(loc="upper left")
        ax.set_xlim(0.0, 1.0)
        ax.set_xlabel("average precision")
        ax.set_ylabel("queries")
        ax.set_title(f"AP per query ({len(aps)} queries)")
        fig.savefig(path, dpi=dpi, format="png")
    finally:
        plt.close(fig)
