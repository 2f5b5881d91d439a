"""tools/visualize.py end to end: a random tiny CTL on the MARS fixture with a key-point cache."""
import os

from ctl_plugin.config import build_cfg
from ctl_plugin.data.build import load_dataset
from ctl_plugin.engine import VideoTrainer
from ctl_plugin.keypoints.cache import write_cache
from ctl_plugin.visualization import ranklist

import numpy as np
import pytest
import torch
from PIL import Image

from tools import visualize

CONFIG = """
MODEL:
  META_ARCHITECTURE: CTL
  DEVICE: cpu
  BACKBONE: {NAME: build_resnet_backbone, DEPTH: 18x, FEAT_DIM: 512, PRETRAIN: False}
  HEADS: {NAME: EmbeddingHead, NUM_CLASSES: 4}
INPUT: {SIZE_TRAIN: [64, 32], SIZE_TEST: [64, 32]}
DATASETS: {NAMES: [MARS], TESTS: [MARS]}
KEYPOINTS: {SOURCE: cache, CACHE_DIR: %s}
CTL: {CROSS_SCALE: {EMBED_DIM: 8}}
VIDEO: {TRAIN: {SEQ_LEN: 4}, TEST: {SEQ_LEN: 4, MODE: all, NUM_WORKERS: 0}}
TEST: {IMS_PER_BATCH: 4, METRIC: cosine}
"""


@pytest.fixture
def run_tool(mars_dataset, tmp_path, monkeypatch):
    root, desc = mars_dataset
    monkeypatch.setenv("FASTREID_DATASETS", str(root))
    cache = tmp_path / "kps"
    rng = np.random.default_rng(0)
    cfg_path = tmp_path / "ctl.yml"
    cfg_path.write_text(CONFIG % cache)
    weights = tmp_path / "random.pth"  # the pictures of an untrained model
    torch.save({"model": VideoTrainer.build_model(build_cfg(str(cfg_path))).state_dict()}, weights)
    argv = ["--config-file", str(cfg_path), "--output", str(tmp_path / "out"), "--num-queries", "3",
            "--topk", "4", "--context-batches", "1", "MODEL.WEIGHTS", str(weights)]
    dataset = load_dataset(visualize.setup(visualize.parse_args(argv)), "MARS")
    for fl in dataset.frame_lists.values():
        kps = rng.random((len(fl), 17, 3)).astype(np.float32) * np.array([16, 32, 1], np.float32)
        write_cache(str(cache), "MARS", fl, kps, "test")
    distmat = visualize.main(argv)
    return tmp_path / "out", dataset, distmat


def png(path):
    return np.asarray(Image.open(path).convert("RGB"))


def test_tool_writes_every_picture_with_borders_by_identity(run_tool):
    out, dataset, distmat = run_tool
    lists = sorted(os.listdir(out / "ranklist"))
    assert len(lists) == 3
    h, w = ranklist.rank_list_size(4, 1, 4, (32, 16))
    num_query = len(dataset.query)
    assert distmat.shape == (num_query, len(dataset.gallery))
    for q, name in enumerate(lists):
        assert name == f"{q:04d}_pid{dataset.query[q][1]}.png"
        # fewer than topk gallery tracklets can remain once same-camera matches are dropped
        assert png(out / "ranklist" / name).shape[0] == h
        assert png(out / "ranklist" / name).shape[1] <= w
    assert png(out / "ap_histogram.png").shape == (480, 640, 3)
    assert sorted(os.listdir(out / "keypoints")) == ["0000.png", "0001.png", "0002.png"]
    kp = png(out / "keypoints" / "0000.png")
    assert kp.shape[0] == 2 * 32 and kp.shape[1] % (2 * 16) == 0
    adj = sorted(os.listdir(out / "adjacency"))
    for layer in (1, 2):
        for scale in ("s1", "s2", "s3"):
            assert f"layer{layer}_{scale}_mask.png" in adj
            assert f"layer{layer}_{scale}_context.png" in adj

    # rank-list borders follow the identities of the ranked gallery tracklets
    q_pids = np.array([p for _, p, _ in dataset.query])
    q_cams = np.array([c for _, _, c in dataset.query])
    g_pids = np.array([p for _, p, _ in dataset.gallery])
    g_cams = np.array([c for _, _, c in dataset.gallery])
    idx, _ = ranklist.rank_lists(distmat, q_pids, g_pids, q_cams, g_cams, 4)
    label, border, gap = 14, 3, 6
    for q in range(3):
        img = png(out / "ranklist" / f"{q:04d}_pid{q_pids[q]}.png")
        x = 4 * 16 + 2 * border
        for g in idx[q]:
            if g < 0:
                break
            x += gap
            expect = ranklist.GREEN if g_pids[g] == q_pids[q] else ranklist.RED
            assert tuple(img[label, x + 8]) == expect
            assert tuple(img[label + 20, x]) == expect
            x += 16 + 2 * border
