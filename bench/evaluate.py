"""MARS-scale evaluation through fast-reid's ReidEvaluator, checked against numpy.

Random clustered features mimic MARS's test split: 1,980 queries over 626 ids,
11,310 gallery tracklets over 634 ids (626 + 8 gallery-only), 6 cameras,
d = 2048. Each id has a random centre on the unit sphere; a tracklet is its
centre plus Gaussian noise (--noise), so ranks are neither perfect nor random.

Timed side by side in one process:
  fastreid      ReidEvaluator (TEST.METRIC cosine), no re-ranking
  reference     numpy: cosine distance, then per query the gallery sorted by
                distance with same-id-same-camera entries removed; CMC and AP
                (mean precision at each true match)
  fastreid + re-ranking (dense)
                ReidEvaluator with TEST.RERANK.ENABLED (k1 k2 lambda from TEST.RERANK)
                through fast-reid's own dense `compute_jaccard_distance` (CPU faiss
                search), at --reference-rerank-scale of the sizes
  fastreid + re-ranking (sparse)
                the plugin's VideoReidEvaluator (fast-reid's ReidEvaluator with the sparse
                k-reciprocal Jaccard distance, what VideoTrainer evaluates with), at the
                same scale
fastreid's and the reference's Rank-1/5/10 and mAP must agree (asserted), and
so must the dense and sparse re-ranking distances (1e-5) and metrics (1e-3).
Peak memory is tracemalloc's peak of Python and numpy allocations during each
run (torch's own allocations are not traced) next to the peak resident set
during the run (Linux: VmHWM after resetting it; elsewhere the process's peak).

Then, at --rerank-scale, the re-ranked query x gallery distance alone (no CMC / mAP),
--repeats times, the runs interleaved:
  plugin        what VideoReidEvaluator computes with TEST.RERANK.ENABLED and TEST.METRIC
                cosine: the sparse Jaccard distance of the L2-normalised features
                mixed with their cosine distance (LAMBDA)
  torchreid     torchreid's `re_ranking` (dense numpy) on the squared Euclidean distance
                matrices of the same normalised features from its
                `compute_distance_matrix`, as its engine calls it; only when torchreid
                is importable (install it by hand in an environment of its own, e.g.
                `pip install --no-deps torchreid==0.2.5 gdown`; it is no dependency)
Both distance matrices are ranked by fast-reid's `evaluate_rank`. torchreid's
Gaussian kernel uses distances divided by each column's maximum, so its metrics come
close to the plugin's without being equal.

    python bench/evaluate.py              # re-ranking: dense and sparse at 0.1 scale, side by side at 1.0
    python bench/evaluate.py --reference-rerank-scale 1.0   # fast-reid's dense re-ranking at full size too (~7 min)
"""
import argparse
import importlib
import resource
import statistics
import time
import tracemalloc

from ctl_plugin.config import build_cfg
from ctl_plugin.evaluation import VideoReidEvaluator, jaccard

import numpy as np
import torch
import torch.nn.functional as F
from fastreid.evaluation import ReidEvaluator, reid_evaluation
from fastreid.evaluation.rank import evaluate_rank
from fastreid.utils import compute_dist
from tabulate import tabulate

NUM_QUERY, NUM_GALLERY, QUERY_IDS, GALLERY_ONLY_IDS, NUM_CAMS = 1980, 11310, 626, 8, 6


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of MARS's query / gallery / id counts without re-ranking (default 1.0)")
    parser.add_argument("--rerank-scale", type=float, default=1.0,
                        help="the same fraction for the side-by-side re-ranked distances; 0 skips them "
                             "(default 1.0)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="interleaved runs of each re-ranked distance (default 3)")
    parser.add_argument("--reference-rerank-scale", type=float, default=0.1,
                        help="the fraction at which fast-reid's dense re-ranking runs beside the sparse one; "
                             "0 skips it (default 0.1)")
    parser.add_argument("--dim", type=int, default=2048, help="feature dimension (default 2048)")
    parser.add_argument("--noise", type=float, default=4.0,
                        help="per-tracklet noise norm relative to the unit id centre (default 4.0)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--paper-shape", action="store_true", help="same as --scale 1 --rerank-scale 1")
    args = parser.parse_args(argv)
    if args.paper_shape:
        args.scale = args.rerank_scale = 1.0
    if not 0 < args.scale <= 1 or not 0 <= args.rerank_scale <= 1 or not 0 <= args.reference_rerank_scale <= 1:
        parser.error("--scale must be in (0, 1], --rerank-scale and --reference-rerank-scale in [0, 1]")
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    return args


def mars_like(scale, dim, noise, seed):
    """(features [Q+G, dim] float32, pids, camids) with the queries first."""
    rng = np.random.default_rng(seed)
    nq, ng = round(NUM_QUERY * scale), round(NUM_GALLERY * scale)
    qids, gids = max(2, round(QUERY_IDS * scale)), max(1, round(GALLERY_ONLY_IDS * scale))
    centres = rng.standard_normal((qids + gids, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    q_pids = np.arange(nq) % qids
    g_pids = np.concatenate([np.arange(qids), rng.integers(0, qids + gids, ng - qids)])
    pids = np.concatenate([q_pids, g_pids])
    camids = rng.integers(0, NUM_CAMS, len(pids))
    feats = centres[pids] + rng.standard_normal((len(pids), dim)).astype(np.float32) * (noise / np.sqrt(dim))
    return feats.astype(np.float32), pids, camids, nq


def rerank_cfg(rerank=True):
    cfg = build_cfg()
    cfg.TEST.METRIC = "cosine"
    cfg.TEST.RERANK.ENABLED = rerank
    return cfg


def fastreid_eval(feats, pids, camids, num_query, rerank, evaluator_class=ReidEvaluator):
    evaluator = evaluator_class(rerank_cfg(rerank), num_query)
    evaluator.process({"targets": torch.from_numpy(pids), "camids": torch.from_numpy(camids)},
                      torch.from_numpy(feats))
    r = evaluator.evaluate()
    return {"Rank-1": r["Rank-1"], "Rank-5": r["Rank-5"], "Rank-10": r["Rank-10"], "mAP": r["mAP"]}


def dense_build_dist(feat_1, feat_2, metric="euclidean", **kwargs):
    """fast-reid's `build_dist` with its dense `compute_jaccard_distance` searching the CPU faiss index."""
    if metric != "jaccard":
        return compute_dist.build_dist(feat_1, feat_2, metric, **kwargs)
    feat = torch.cat((feat_1, feat_2), dim=0)
    dist = compute_dist.compute_jaccard_distance(feat, k1=kwargs["k1"], k2=kwargs["k2"], search_option=3)
    return dist[: feat_1.size(0), feat_1.size(0):]


def dense_rerank_eval(feats, pids, camids, num_query):
    """fast-reid's ReidEvaluator with its dense re-ranking on the CPU; (metrics, the Jaccard block it computed)."""
    jaccard_blocks = []

    def recording(feat_1, feat_2, metric="euclidean", **kwargs):
        dist = dense_build_dist(feat_1, feat_2, metric, **kwargs)
        if metric == "jaccard":
            jaccard_blocks.append(dist)
        return dist

    looked_up = reid_evaluation.build_dist  # where ReidEvaluator looks it up; put back below
    reid_evaluation.build_dist = recording
    try:
        metrics = fastreid_eval(feats, pids, camids, num_query, True)
    finally:
        reid_evaluation.build_dist = looked_up
    return metrics, jaccard_blocks[0]


def sparse_rerank_eval(feats, pids, camids, num_query):
    """The plugin's VideoReidEvaluator with re-ranking; (metrics, the Jaccard block it computed)."""
    jaccard_blocks = []

    class Recording(VideoReidEvaluator):
        def rerank(self, query, gallery):
            jaccard_blocks.append(super().rerank(query, gallery))
            return jaccard_blocks[-1]

    metrics = fastreid_eval(feats, pids, camids, num_query, True, Recording)
    return {k: metrics[k] for k in ("Rank-1", "Rank-5", "Rank-10", "mAP")}, jaccard_blocks[0]


def reference_eval(feats, pids, camids, num_query):
    """Cosine distance, junk (same id and camera) removed, CMC and AP per valid query."""
    f = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    qf, gf = f[:num_query], f[num_query:]
    q_pids, g_pids, q_cams, g_cams = pids[:num_query], pids[num_query:], camids[:num_query], camids[num_query:]
    dist = 1.0 - qf @ gf.T
    cmc_sum = np.zeros(10)
    aps = []
    for i in range(num_query):
        order = np.argsort(dist[i], kind="stable")
        keep = ~((g_pids[order] == q_pids[i]) & (g_cams[order] == q_cams[i]))
        matches = (g_pids[order][keep] == q_pids[i]).astype(np.float64)
        if not matches.any():
            continue
        first = np.flatnonzero(matches)[0]
        cmc_sum[first:] += 1 if first < 10 else 0
        hits = np.flatnonzero(matches)
        aps.append(np.mean(np.arange(1, len(hits) + 1) / (hits + 1)))
    n = len(aps)
    return {"Rank-1": cmc_sum[0] / n * 100, "Rank-5": cmc_sum[4] / n * 100,
            "Rank-10": cmc_sum[9] / n * 100, "mAP": np.mean(aps) * 100}


def ranking_ties(feats, k1):
    """(rows whose k1 nearest neighbours faiss's IndexFlatL2, which fast-reid's dense code
    searches, and the plugin order differently, the largest relative difference between the
    float64 distances of the two lists sorted): a spread at float32 rounding means that
    the two orders differ only where distances tie."""
    import faiss

    x = np.ascontiguousarray(F.normalize(torch.from_numpy(feats), dim=1).numpy())
    index = faiss.IndexFlatL2(x.shape[1])
    index.add(x)
    _, theirs = index.search(x, k1)
    ours = jaccard.initial_ranking(torch.from_numpy(x), k1)
    rows = np.flatnonzero((ours != theirs).any(axis=1))
    x64, spread = x.astype(np.float64), 0.0
    for i in rows:
        a, b = (np.sort(((x64[r] - x64[i]) ** 2).sum(axis=1)) for r in (ours[i], theirs[i]))
        spread = max(spread, float((np.abs(a - b) / np.maximum(a, 1e-12))[1:].max()))
    return len(rows), spread


def load_torchreid():
    """(re_ranking, compute_distance_matrix) of an importable torchreid (0.2.5 keeps them
    under `torchreid.reid`, upstream releases under `torchreid`), else None."""
    for package in ("torchreid.reid", "torchreid"):
        try:
            utils = importlib.import_module(package + ".utils")
            metrics = importlib.import_module(package + ".metrics")
            return utils.re_ranking, metrics.compute_distance_matrix
        except (ImportError, AttributeError):
            continue
    return None


def plugin_reranked(query, gallery, k1, k2, lambda_value):
    """VideoReidEvaluator's re-ranked distance under TEST.METRIC cosine."""
    cfg = rerank_cfg()
    cfg.TEST.RERANK.K1, cfg.TEST.RERANK.K2, cfg.TEST.RERANK.LAMBDA = k1, k2, lambda_value
    return VideoReidEvaluator(cfg, len(query)).distance(query, gallery)


def torchreid_reranked(torchreid, query, gallery, k1, k2, lambda_value):
    """torchreid's engine with rerank: squared Euclidean matrices of the normalised features, then re_ranking."""
    re_ranking, distance_matrix = torchreid
    query, gallery = F.normalize(query, dim=1), F.normalize(gallery, dim=1)
    q_g, q_q, g_g = (distance_matrix(a, b).numpy() for a, b in ((query, gallery), (query, query), (gallery, gallery)))
    return re_ranking(q_g, q_q, g_g, k1=k1, k2=k2, lambda_value=lambda_value)


def ranked_metrics(dist, pids, camids, num_query):
    cmc, all_ap, _ = evaluate_rank(dist, pids[:num_query], pids[num_query:], camids[:num_query], camids[num_query:])
    return {"Rank-1": cmc[0] * 100, "Rank-5": cmc[4] * 100, "Rank-10": cmc[9] * 100, "mAP": np.mean(all_ap) * 100}


def side_by_side(args):
    """The re-ranked distance of the plugin and of torchreid (when importable), interleaved."""
    feats, pids, camids, nq = mars_like(args.rerank_scale, args.dim, args.noise, args.seed)
    query, gallery = torch.from_numpy(feats[:nq]), torch.from_numpy(feats[nq:])
    k1, k2, lambda_value = (build_cfg().TEST.RERANK[key] for key in ("K1", "K2", "LAMBDA"))
    runs = {"plugin (sparse)": lambda: plugin_reranked(query, gallery, k1, k2, lambda_value)}
    torchreid = load_torchreid()
    if torchreid is None:
        print("torchreid is not importable: its re_ranking is left out")
    else:
        runs["torchreid re_ranking (dense)"] = lambda: torchreid_reranked(torchreid, query, gallery, k1, k2,
                                                                          lambda_value)
    times, dists = {name: [] for name in runs}, {}
    for _ in range(args.repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            dists[name] = run()
            times[name].append(time.perf_counter() - start)
    base = min(times["plugin (sparse)"])
    rows = []
    for name in runs:
        m = ranked_metrics(dists[name], pids, camids, nq)
        rows.append([name, nq, len(pids) - nq, *m.values(), min(times[name]), statistics.median(times[name]),
                     min(times[name]) / base])
    print(f"re-ranked distance, k1 {k1}, k2 {k2}, lambda {lambda_value}, N = {len(pids)}, "
          f"{args.repeats} interleaved runs each:")
    print(tabulate(rows, headers=["re-ranked distance", "queries", "gallery", "R-1", "R-5", "R-10", "mAP",
                                  "s (min)", "s (median)", "x plugin (min)"], floatfmt=".2f"))
    if len(rows) > 1:
        dense = times['torchreid re_ranking (dense)']
        print(f"plugin / torchreid: {base / min(dense):.3f} (minima), "
              f"{statistics.median(times['plugin (sparse)']) / statistics.median(dense):.3f} (medians)")


def reset_peak_rss():
    """Reset the kernel's resident-set high-water mark of this process (Linux); False elsewhere."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mib():
    """VmHWM from /proc/self/status (Linux), else getrusage's ru_maxrss (the process's peak)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measured(fn, *args):
    """(result, seconds, tracemalloc peak MiB, peak RSS MiB during the call where it can be reset)."""
    reset_peak_rss()
    tracemalloc.start()
    start = time.perf_counter()
    result = fn(*args)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak / 2 ** 20, peak_rss_mib()


def main(argv=None):
    args = parse_args(argv)
    rows = []
    feats, pids, camids, nq = mars_like(args.scale, args.dim, args.noise, args.seed)
    ours, t_fr, m_fr, rss_fr = measured(fastreid_eval, feats, pids, camids, nq, False)
    ref, t_ref, m_ref, rss_ref = measured(reference_eval, feats, pids, camids, nq)
    for key in ours:
        assert abs(ours[key] - ref[key]) < 1e-3, f"{key}: fastreid {ours[key]:.4f} != reference {ref[key]:.4f}"
    for name, r, t, m, rss in (("fastreid", ours, t_fr, m_fr, rss_fr),
                               ("reference (numpy)", ref, t_ref, m_ref, rss_ref)):
        rows.append([name, nq, len(pids) - nq, r["Rank-1"], r["Rank-5"], r["Rank-10"], r["mAP"], t, m, rss])
    print(f"fastreid and reference agree within 1e-3 on Rank-1/5/10 and mAP at scale {args.scale}")
    if args.reference_rerank_scale:
        feats, pids, camids, nq = mars_like(args.reference_rerank_scale, args.dim, args.noise, args.seed)
        n = len(pids)
        print(f"re-ranking N = {n}: one dense float32 N x N matrix is {n * n * 4 / 2 ** 30:.2f} GiB "
              f"(full MARS: N = 13,290 -> {13290 ** 2 * 4 / 2 ** 30:.2f} GiB)")
        (dense, dense_dist), t_dense, m, rss = measured(dense_rerank_eval, feats, pids, camids, nq)
        rows.append(["fastreid + re-ranking (dense)", nq, n - nq, *dense.values(), t_dense, m, rss])
        (sparse, sparse_dist), t_sparse, m, rss = measured(sparse_rerank_eval, feats, pids, camids, nq)
        rows.append(["VideoReidEvaluator + re-ranking (sparse)", nq, n - nq, *sparse.values(), t_sparse, m, rss])
        off = np.abs(dense_dist - sparse_dist) > 1e-5
        for key in dense:
            assert abs(dense[key] - sparse[key]) < 1e-3, f"{key}: dense {dense[key]:.4f} != sparse {sparse[key]:.4f}"
        if off.any():
            rows_tied, spread = ranking_ties(feats, build_cfg().TEST.RERANK.K1)
            assert spread < 1e-6, f"{off.sum()} Jaccard distances differ by more than 1e-5 and the initial " \
                                  f"rankings differ beyond float32 ties (relative spread {spread:.1e})"
            print(f"{off.sum()} of {off.size} Jaccard distances differ by more than 1e-5 (at most "
                  f"{np.abs(dense_dist - sparse_dist).max():.2e}): faiss and the plugin order {rows_tied} rows' "
                  f"nearest neighbours differently where distances tie within float32 rounding "
                  f"(same exact distances within {spread:.1e})")
        print(f"dense and sparse re-ranking agree at N = {n}: Jaccard distances within 1e-5 "
              f"({(~off).sum()} of {off.size}), Rank-1/5/10 and mAP within 1e-3; sparse is "
              f"{t_dense / t_sparse:.1f} x faster")
    print(tabulate(rows, headers=["evaluation", "queries", "gallery", "R-1", "R-5", "R-10", "mAP",
                                  "seconds", "traced peak MiB", "peak RSS MiB"], floatfmt=".2f"))
    if args.rerank_scale:
        side_by_side(args)


if __name__ == "__main__":
    main()
