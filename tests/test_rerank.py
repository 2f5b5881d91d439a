"""Sparse k-reciprocal re-ranking: each step against a direct loop, the whole against
fast-reid's dense `compute_jaccard_distance`, and through the video evaluator against
fast-reid's ReidEvaluator; importing the plugin leaves fast-reid's functions as they are."""
import subprocess
import sys

from ctl_plugin.evaluation import VideoReidEvaluator, jaccard

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastreid.config import get_cfg
from fastreid.evaluation import ReidEvaluator, reid_evaluation
from fastreid.utils import compute_dist


def clustered(n, dim=32, ids=10, noise=0.7, seed=0):
    """(unit features [n, dim] float32, ids [n]): a random centre per id plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((ids, dim))
    pids = rng.integers(0, ids, n)
    feats = torch.tensor(centres[pids] + noise * rng.standard_normal((n, dim)), dtype=torch.float32)
    return F.normalize(feats, dim=1), pids


def dense(matrix):
    return matrix.toarray()


def loop_reciprocal(ranking, k):
    """R(i, k) by the definition: j among i's first k + 1 entries with i among j's."""
    n = len(ranking)
    out = np.zeros((n, n), dtype=bool)
    for i in range(n):
        for j in ranking[i, :k + 1]:
            if i in ranking[j, :k + 1]:
                out[i, j] = True
    return out


@pytest.mark.parametrize("block", [jaccard.ROWS_PER_BLOCK, 7])
def test_initial_ranking_is_the_k_nearest_in_order(monkeypatch, block):
    monkeypatch.setattr(jaccard, "ROWS_PER_BLOCK", block)
    feats, _ = clustered(90, seed=5)
    feats = feats * torch.linspace(0.5, 2.0, 90)[:, None]  # not unit length
    ranking = jaccard.initial_ranking(feats, 12)
    x = feats.double().numpy()
    distances = ((x[:, None] - x[None]) ** 2).sum(-1)
    assert ranking.shape == (90, 12) and ranking.dtype == np.int64
    np.testing.assert_array_equal(ranking, np.argsort(distances, axis=1, kind="stable")[:, :12])


def test_reciprocal_neighbours_eq4():
    feats, _ = clustered(80)
    ranking = jaccard.initial_ranking(feats, 9)
    assert ranking.shape == (80, 9) and (ranking[:, 0] == np.arange(80)).all()
    for k in (1, 4, 9):
        got = dense(jaccard.reciprocal_neighbours(ranking, k))
        np.testing.assert_array_equal(got, loop_reciprocal(ranking, k))
    assert dense(jaccard.reciprocal_neighbours(ranking, 9)).sum() > 80  # more than the points themselves


@pytest.mark.parametrize("k1", [1, 5, 8])
def test_expanded_neighbours_eq5(k1):
    feats, _ = clustered(90, seed=1)
    ranking = jaccard.initial_ranking(feats, k1)
    full, half = loop_reciprocal(ranking, k1), loop_reciprocal(ranking, int(np.around(k1 / 2)))
    expected = full.copy()
    for i in range(len(ranking)):
        for c in np.flatnonzero(full[i]):
            if (half[c] & full[i]).sum() > 2 / 3 * half[c].sum():
                expected[i] |= half[c]
    got = dense(jaccard.expanded_neighbours(ranking, k1))
    np.testing.assert_array_equal(got, expected)
    if k1 == 8:
        assert (got.sum(1) > full.sum(1)).any()  # the expansion adds members somewhere


def test_kernel_weights_eq8():
    feats, _ = clustered(60, seed=2)
    feats = feats * 3  # not unit length: the squared distances matter
    support = jaccard.expanded_neighbours(jaccard.initial_ranking(feats, 6), 6)
    got = dense(jaccard.kernel_weights(feats, support))
    x = feats.double().numpy()
    for i in range(len(x)):
        members = support[i].indices
        kernel = np.array([np.exp(-((x[i] - x[j]) ** 2).sum()) for j in members])
        np.testing.assert_allclose(got[i, members], kernel / kernel.sum(), rtol=1e-4, atol=1e-6)
        assert np.count_nonzero(got[i]) <= len(members)
    np.testing.assert_allclose(got.sum(1), 1, atol=1e-5)


def test_local_query_expansion_eq11():
    feats, _ = clustered(50, seed=3)
    ranking = jaccard.initial_ranking(feats, 7)
    weights = jaccard.kernel_weights(feats, jaccard.expanded_neighbours(ranking, 7))
    for k2 in (3, 10):  # k2 > k1 averages the k1 rows there are
        got = dense(jaccard.local_query_expansion(weights, ranking, k2))
        v = dense(weights)
        for i in range(50):
            rows = ranking[i, :min(k2, 7)]
            np.testing.assert_allclose(got[i], sum(v[j] for j in rows) / len(rows), atol=1e-7)


@pytest.mark.parametrize("chunk", [jaccard.TRIPLES_PER_CHUNK, 50])
def test_jaccard_distance_eq10(monkeypatch, chunk):
    monkeypatch.setattr(jaccard, "TRIPLES_PER_CHUNK", chunk)
    feats, _ = clustered(70, seed=4)
    ranking = jaccard.initial_ranking(feats, 8)
    weights = jaccard.local_query_expansion(
        jaccard.kernel_weights(feats, jaccard.expanded_neighbours(ranking, 8)), ranking, 4)
    rows, cols = np.array([5, 0, 69, 33]), np.arange(20, 70)
    got = jaccard.jaccard_distance(weights, rows, cols)
    v = dense(weights)
    expected = np.array([[1 - np.minimum(v[i], v[j]).sum() / np.maximum(v[i], v[j]).sum()
                          for j in cols] for i in rows])
    assert got.shape == (4, 50) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert (got < 0.99).sum() >= 4 and (got > 0.999).any()


def fastreid_jaccard(features, k1, k2):
    """fast-reid's own dense implementation with its CPU faiss search."""
    return compute_dist.compute_jaccard_distance(features, k1=k1, k2=k2, search_option=3)


@pytest.mark.parametrize("n,k1,k2", [(200, 20, 6), (240, 10, 1), (150, 7, 3), (300, 12, 15),
                                     (120, 1, 1), (100, 2, 4), (60, 60, 6)])
def test_equals_fastreid_compute_jaccard_distance(n, k1, k2):
    feats, _ = clustered(n, seed=n + k1)
    expected = fastreid_jaccard(feats, k1, k2)
    got = jaccard.k_reciprocal_jaccard(feats, k1, k2)
    assert got.shape == (n, n)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    q = n // 4
    block = jaccard.k_reciprocal_jaccard(feats, k1, k2, rows=slice(0, q), cols=slice(q, None))
    np.testing.assert_allclose(block, expected[:q, q:], atol=1e-5)
    # pairs beyond the diagonal share neighbours, except for k1 = 1 (every set is the point alone)
    assert (expected < 1).sum() > n or k1 == 1


def test_bad_parameters_name_the_config_key():
    feats, _ = clustered(30)
    with pytest.raises(ValueError, match=r"TEST.RERANK.K1 = 31.*N = 30"):
        jaccard.k_reciprocal_jaccard(feats, 31, 6)
    with pytest.raises(ValueError, match="TEST.RERANK.K1 = 0"):
        jaccard.k_reciprocal_jaccard(feats, 0, 6)
    with pytest.raises(ValueError, match="TEST.RERANK.K2 = 0"):
        jaccard.k_reciprocal_jaccard(feats, 5, 0)
    with pytest.raises(ValueError, match=r"features \[N, d\].*\(30,\)"):
        jaccard.k_reciprocal_jaccard(feats[:, 0], 5, 2)


def fastreid_build_dist(feat_1, feat_2, metric="euclidean", **kwargs):
    """fast-reid's build_dist, its jaccard branch on the CPU faiss index (its default is the GPU's)."""
    if metric != "jaccard":
        return compute_dist.build_dist(feat_1, feat_2, metric, **kwargs)
    dist = fastreid_jaccard(torch.cat((feat_1, feat_2)), kwargs["k1"], kwargs["k2"])
    return dist[:feat_1.size(0), feat_1.size(0):]


def evaluate(evaluator_class, feats, pids, num_query, rerank, k1=20, k2=6, camids=None):
    cfg = get_cfg()
    cfg.TEST.METRIC = "cosine"
    cfg.TEST.RERANK.ENABLED = rerank
    cfg.TEST.RERANK.K1, cfg.TEST.RERANK.K2 = k1, k2
    evaluator = evaluator_class(cfg, num_query)
    if camids is None:
        camids = torch.arange(len(pids)) % 2  # queries and gallery alternate cameras
    evaluator.process({"targets": torch.as_tensor(pids), "camids": torch.as_tensor(camids)}, feats)
    return evaluator.evaluate()


def test_video_evaluator_same_metrics_as_fastreid_and_better_than_cosine(monkeypatch):
    feats, pids = clustered(260, ids=12, noise=1.1, seed=7)
    ours = evaluate(VideoReidEvaluator, feats, pids, 60, rerank=True)
    plain = evaluate(VideoReidEvaluator, feats, pids, 60, rerank=False)
    monkeypatch.setattr(reid_evaluation, "build_dist", fastreid_build_dist)
    for rerank, result in ((True, ours), (False, plain)):
        reference = evaluate(ReidEvaluator, feats, pids, 60, rerank=rerank)
        for key in ("Rank-1", "Rank-5", "Rank-10", "mAP", "mINP", "metric"):
            assert result[key] == pytest.approx(reference[key], abs=1e-4), (rerank, key)
    assert ours["mAP"] > plain["mAP"] + 5.0


def test_rank_20_beside_fastreids_ranks():
    """Rank-k: the share of queries whose first true match (same-id same-camera entries
    removed) is among the k nearest gallery tracklets, computed directly."""
    feats, pids = clustered(200, ids=30, noise=1.6, seed=3)
    camids = np.arange(len(pids)) % 2
    result = evaluate(VideoReidEvaluator, feats, pids, 50, rerank=False, camids=camids)
    assert list(result)[:5] == ["Rank-1", "Rank-5", "Rank-10", "Rank-20", "mAP"]
    f = F.normalize(feats, dim=1)
    dist = 1 - f[:50] @ f[50:].T
    firsts = []
    for i in range(50):
        order = torch.argsort(dist[i], stable=True).numpy()
        keep = ~((pids[50:][order] == pids[i]) & (camids[50:][order] == camids[i]))
        matches = pids[50:][order][keep] == pids[i]
        if matches.any():
            firsts.append(int(np.flatnonzero(matches)[0]))
    for k in (1, 5, 10, 20):
        assert result[f"Rank-{k}"] == pytest.approx(100 * np.mean(np.array(firsts) < k), abs=1e-4)
    assert result["Rank-10"] < result["Rank-20"] < 100


def test_a_gallery_under_20_tracklets_evaluates_with_ranks_of_the_whole_gallery():
    """Ranks beyond the gallery's size are its size's (the queries' camera is not the gallery's,
    so no gallery tracklet is junk)."""
    feats, _ = clustered(10, ids=3, seed=1)
    pids = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    camids = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    result = evaluate(VideoReidEvaluator, feats, pids, 3, rerank=False, camids=camids)  # 7 gallery tracklets
    assert result["Rank-10"] == result["Rank-20"] == 100.0
    assert result["Rank-1"] <= result["Rank-5"] <= 100.0


def test_importing_the_plugin_leaves_fastreids_functions_as_fastreid_defines_them():
    """A fresh process that imports the plugin, builds the video trainer's evaluator and
    evaluates: fast-reid's inference loop and distance are still fast-reid's own."""
    code = """
import ctl_plugin
from ctl_plugin.engine import VideoTrainer
import fastreid.engine.defaults as defaults
import fastreid.evaluation as evaluation
import fastreid.evaluation.evaluator as evaluator_module
import fastreid.evaluation.reid_evaluation as reid_evaluation
import fastreid.utils.compute_dist as compute_dist
import fastreid.solver as solver
import fastreid.solver.build as solver_build
loop = defaults.inference_on_dataset
assert loop is evaluation.inference_on_dataset is evaluator_module.inference_on_dataset
assert loop.__code__.co_filename.endswith("fastreid/evaluation/evaluator.py")
dist = compute_dist.build_dist  # fast-reid's function under torch.no_grad's wrapper
assert dist is reid_evaluation.build_dist
assert "ctl_plugin" not in dist.__code__.co_filename
assert dist.__wrapped__.__code__.co_filename.endswith("fastreid/utils/compute_dist.py")
assert VideoTrainer.build_evaluator.__func__ is not defaults.DefaultTrainer.build_evaluator.__func__
print("untouched")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "untouched" in out.stdout, out.stderr[-3000:]
