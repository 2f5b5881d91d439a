"""ctl_plugin.retrieval: faiss search in fast-reid's distances, and the gallery feature cache."""
import json

from ctl_plugin.config import build_cfg
from ctl_plugin.data.tracklets import FrameList, FrameSpan
from ctl_plugin.retrieval import FeatureCache, GalleryIndex

import numpy as np
import pytest
import torch
from fastreid.utils.compute_dist import build_dist


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_index_returns_fastreid_distances_nearest_first(metric):
    g = torch.randn(50, 16)
    q = torch.randn(3, 16)
    dist, idx = GalleryIndex(g, metric).search(q, 7)
    full = build_dist(q, g, metric)
    assert dist.shape == idx.shape == (3, 7)
    np.testing.assert_array_equal(idx, np.argsort(full, axis=1)[:, :7])
    np.testing.assert_allclose(dist, np.take_along_axis(full, idx, 1), rtol=1e-4, atol=1e-4)


def test_index_clamps_k_and_rejects_unknown_metrics():
    dist, idx = GalleryIndex(torch.eye(3), "cosine").search(torch.tensor([[0.0, 2.0, 0.0]]), 10)
    assert idx.tolist() == [[1, 0, 2]] or idx.tolist() == [[1, 2, 0]]
    assert dist[0, 0] == pytest.approx(0.0, abs=1e-6) and dist[0, 1:] == pytest.approx([1.0, 1.0])
    with pytest.raises(ValueError, match="TEST.METRIC 'jaccard'"):
        GalleryIndex(torch.eye(3), "jaccard")


def items(n=4):
    frames = FrameList("gallery", "/data", [f"{i}.jpg" for i in range(2 * n)])
    return [(FrameSpan(frames, 2 * i, 2 * i + 2), i, 0) for i in range(n)]


def test_cache_reuses_features_until_weights_change(tmp_path):
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"one")
    cfg = build_cfg(None, ["MODEL.WEIGHTS", str(weights)])
    calls = []

    def compute():
        calls.append(1)
        return np.full((4, 3), len(calls), np.float32)

    first = FeatureCache(str(tmp_path / "f"), "g", cfg, items()).get(compute)
    again = FeatureCache(str(tmp_path / "f"), "g", cfg, items()).get(compute)
    assert len(calls) == 1 and (again == first).all() and first[0, 0] == 1
    record = json.loads((tmp_path / "f" / "g.json").read_text())
    assert record["num_tracklets"] == 4 and record["dim"] == 3
    weights.write_bytes(b"two")
    assert FeatureCache(str(tmp_path / "f"), "g", cfg, items()).get(compute)[0, 0] == 2
    cfg.INPUT.SIZE_TEST = [64, 32]  # a config that changes features
    assert FeatureCache(str(tmp_path / "f"), "g", cfg, items()).get(compute)[0, 0] == 3
    assert FeatureCache(str(tmp_path / "f"), "g", cfg, items(3)).get(lambda: np.zeros((3, 3)))[0, 0] == 0


def test_cache_never_keeps_features_of_an_unloaded_model(tmp_path):
    cfg = build_cfg(None)
    FeatureCache(str(tmp_path), "g", cfg, items()).get(lambda: np.ones((4, 2)))
    assert not list(tmp_path.iterdir())
