"""Gallery features kept on disk, reused while the model, its weights, the
config and the gallery frames stay the same.

    <dir>/<name>.npy    float32 [N, D], one row per gallery tracklet, in dataset order
    <dir>/<name>.json   what they were made from
"""
import hashlib
import json
import logging
import os

import numpy as np

from ..io import file_sha256

logger = logging.getLogger(__name__)

CONFIG_NODES_IGNORED = ("OUTPUT_DIR", "SOLVER", "DATALOADER", "DATASETS")


def config_digest(cfg):
    """SHA-1 of the config without the nodes that do not change features."""
    kept = {k: v for k, v in cfg.items() if k not in CONFIG_NODES_IGNORED}
    return hashlib.sha1(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()


def items_digest(items):
    """SHA-1 of tracklet items: their frame lists' names and digests, spans, pids, camids."""
    h = hashlib.sha1()
    for span, pid, camid in items:
        h.update(f"{span.frames.name}:{span.frames.digest()}:{span.start}:{span.stop}:{pid}:{camid};".encode())
    return h.hexdigest()


class FeatureCache:
    """`get(compute)`: the cached features if their record matches, else `compute()`'s, saved
    (never for a model without MODEL.WEIGHTS: its random initialisation is not reproducible)."""

    def __init__(self, directory, name, cfg, items):
        self.array_path = os.path.join(directory, name + ".npy")
        self.record_path = os.path.join(directory, name + ".json")
        self.record = {
            "num_tracklets": len(items),
            "items_sha1": items_digest(items),
            "weights_sha256": file_sha256(cfg.MODEL.WEIGHTS),
            "config_sha1": config_digest(cfg),
        }

    def load(self):
        """The cached features, or None (with the reason logged) when absent or stale."""
        if not (os.path.exists(self.array_path) and os.path.exists(self.record_path)):
            return None
        with open(self.record_path) as f:
            try:
                record = json.load(f)
            except ValueError:
                logger.warning(f"'{self.record_path}' is not valid JSON: recomputing the features")
                return None
        stale = [k for k, v in self.record.items() if record.get(k) != v]
        if stale:
            logger.info(f"features in '{self.array_path}' are stale ({', '.join(stale)} changed): recomputing")
            return None
        feats = np.load(self.array_path)
        if feats.ndim != 2 or len(feats) != self.record["num_tracklets"]:
            logger.warning(f"'{self.array_path}' has shape {feats.shape}, expected "
                           f"({self.record['num_tracklets']}, D): recomputing")
            return None
        return feats

    def get(self, compute):
        if not self.record["weights_sha256"]:
            logger.info("MODEL.WEIGHTS is empty: gallery features of a randomly initialised model are not cached")
            return np.asarray(compute(), dtype=np.float32)
        feats = self.load()
        if feats is not None:
            logger.info(f"gallery features read from '{self.array_path}'")
            return feats
        feats = np.asarray(compute(), dtype=np.float32)
        os.makedirs(os.path.dirname(self.array_path) or ".", exist_ok=True)
        np.save(self.array_path, feats)
        with open(self.record_path, "w") as f:
            json.dump({**self.record, "dim": int(feats.shape[1])}, f, indent=1)
        logger.info(f"gallery features written to '{self.array_path}'")
        return feats
