"""Exact top-k search over gallery features with faiss, in fast-reid's distances."""
import faiss
import numpy as np
import torch

from ..config import ConfigError

METRICS = ("cosine", "euclidean")


class GalleryIndex:
    """A flat (exact) faiss index over gallery features [N, D].

    Distances are those of `fastreid.utils.compute_dist.build_dist` for TEST.METRIC:
    cosine: 1 - <q, g> of L2-normalised features (inner-product index);
    euclidean: squared L2 distance (L2 index).
    """

    def __init__(self, features, metric="cosine"):
        if metric not in METRICS:
            raise ConfigError(f"TEST.METRIC '{metric}': the gallery index supports {METRICS}")
        feats = self._prepare(features, metric)
        if feats.ndim != 2 or not len(feats):
            raise ValueError(f"gallery features must be a non-empty [N, D] matrix, got shape {feats.shape}")
        self.metric = metric
        self.index = faiss.IndexFlatIP(feats.shape[1]) if metric == "cosine" else faiss.IndexFlatL2(feats.shape[1])
        self.index.add(feats)

    @staticmethod
    def _prepare(features, metric):
        feats = np.ascontiguousarray(torch.as_tensor(features).float().numpy())
        if metric == "cosine":
            feats = feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(feats, dtype=np.float32)

    def __len__(self):
        return self.index.ntotal

    def search(self, queries, k):
        """(distances [Q, k'], indices [Q, k']) nearest first, k' = min(k, len(self))."""
        q = self._prepare(queries, self.metric).reshape(-1, self.index.d)
        scores, indices = self.index.search(q, min(k, len(self)))
        return (1.0 - scores if self.metric == "cosine" else scores), indices
