"""Sparse k-reciprocal re-ranking: each step against a direct loop, the whole against
fast-reid's dense `compute_jaccard_distance`, and through fast-reid's ReidEvaluator."""
from ctl_plugin import evaluation
from ctl_plugin.evaluation import jaccard

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


def test_installed_where_the_evaluator_looks():
    assert reid_evaluation.build_dist is evaluation.build_dist is compute_dist.build_dist
    assert evaluation.install() == []
    original = evaluation.build_dist.__wrapped__
    assert original.__module__ == "fastreid.utils.compute_dist" and original is not evaluation.build_dist
    feats, _ = clustered(40)
    np.testing.assert_array_equal(evaluation.build_dist(feats[:10], feats[10:], "cosine"),
                                  original(feats[:10], feats[10:], "cosine"))


def fastreid_build_dist(feat_1, feat_2, metric="euclidean", **kwargs):
    """fast-reid's build_dist, its jaccard branch on the CPU faiss index."""
    if metric != "jaccard":
        return evaluation.build_dist.__wrapped__(feat_1, feat_2, metric, **kwargs)
    dist = fastreid_jaccard(torch.cat((feat_1, feat_2)), kwargs["k1"], kwargs["k2"])
    return dist[:feat_1.size(0), feat_1.size(0):]


def evaluate(feats, pids, num_query, rerank, k1=20, k2=6):
    cfg = get_cfg()
    cfg.TEST.METRIC = "cosine"
    cfg.TEST.RERANK.ENABLED = rerank
    cfg.TEST.RERANK.K1, cfg.TEST.RERANK.K2 = k1, k2
    evaluator = ReidEvaluator(cfg, num_query)
    camids = torch.arange(len(pids)) % 2  # queries and gallery alternate cameras
    evaluator.process({"targets": torch.from_numpy(pids), "camids": camids}, feats)
    return evaluator.evaluate()


def test_evaluator_same_metrics_as_fastreid_and_better_than_cosine(monkeypatch):
    feats, pids = clustered(260, ids=12, noise=1.1, seed=7)
    ours = evaluate(feats, pids, 60, rerank=True)
    plain = evaluate(feats, pids, 60, rerank=False)
    monkeypatch.setattr(reid_evaluation, "build_dist", fastreid_build_dist)
    reference = evaluate(feats, pids, 60, rerank=True)
    for key in ("Rank-1", "Rank-5", "mAP", "mINP"):
        assert ours[key] == pytest.approx(reference[key], abs=1e-4), key
    assert ours["mAP"] > plain["mAP"] + 5.0
