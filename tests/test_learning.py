"""Every method learns on the bundled synthetic data: a fixed small CPU budget, fast-reid's
trainer and evaluator, mAP far above chance. The results are printed side by side."""
import os

import numpy as np
import pytest
import torch
from fastreid.engine import default_argument_parser
from tabulate import tabulate

from ctl_plugin import engine
from ctl_plugin.data.build import build_video_test_loader
from ctl_plugin.data.synthetic import generate_synthetic_mars

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# One budget for every method: ResNet-18 from scratch, 64 x 32 frames, 4 ids x 4 tracklets.
BUDGET = [
    "MODEL.DEVICE", "cpu", "MODEL.BACKBONE.DEPTH", "18x", "MODEL.BACKBONE.FEAT_DIM", "512",
    "MODEL.BACKBONE.PRETRAIN", "False", "INPUT.SIZE_TRAIN", "[64, 32]", "INPUT.SIZE_TEST", "[64, 32]",
    "INPUT.PADDING.SIZE", "3", "DATASETS.NAMES", "('SyntheticMARS',)", "DATASETS.TESTS", "('SyntheticMARS',)",
    "DATALOADER.NUM_WORKERS", "0", "VIDEO.TEST.NUM_WORKERS", "0", "TEST.IMS_PER_BATCH", "16",
    "SOLVER.MAX_EPOCH", "10", "SOLVER.CHECKPOINT_PERIOD", "10", "TEST.EVAL_PERIOD", "10",
    "SOLVER.IMS_PER_BATCH", "16", "SOLVER.STEPS", "[8]", "SOLVER.WARMUP_ITERS", "0",
    "CUDNN_BENCHMARK", "False", "SEED", "0",
]
METHODS = {
    "VideoBaseline": ("configs/Base-Video.yml", ["SOLVER.BASE_LR", "0.001"]),
    "CTL": ("configs/CTL_MARS.yml",
            ["SOLVER.BASE_LR", "0.001", "MODEL.BACKBONE.LAST_STRIDE", "1",
             "KEYPOINTS.CACHE_ESTIMATOR", "ground-truth", "CTL.CROSS_SCALE.EMBED_DIM", "64"]),
    "GRL": ("projects/GRL/configs/GRL_MARS.yml", ["VIDEO.TRAIN.SEQ_LEN", "6", "VIDEO.TEST.SEQ_LEN", "6"]),
    "STMN": ("projects/STMN/configs/STMN_MARS.yml", ["SOLVER.BASE_LR", "0.001"]),
}
RESULTS = {}


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    generate_synthetic_mars(str(root))
    return root


def chance_map(cfg):
    """mAP of a random ranking of the same query/gallery split (mean over 5 draws)."""
    from fastreid.evaluation.rank import evaluate_rank
    loader, num_query = build_video_test_loader(cfg, "SyntheticMARS")
    items = loader.dataset.img_items
    pids = np.array([i[1] for i in items])
    cams = np.array([i[2] for i in items])
    rng = np.random.default_rng(0)
    maps = []
    for _ in range(5):
        dist = rng.random((num_query, len(items) - num_query)).astype(np.float32)
        _, ap, _ = evaluate_rank(dist, pids[:num_query], pids[num_query:], cams[:num_query],
                                 cams[num_query:], use_cython=False)
        maps.append(np.mean(ap) * 100)
    return float(np.mean(maps))


@pytest.mark.parametrize("method", list(METHODS))
def test_method_learns_far_above_chance(method, synthetic_root, tmp_path, monkeypatch):
    monkeypatch.setenv("FASTREID_DATASETS", str(synthetic_root))
    config, extra = METHODS[method]
    args = default_argument_parser().parse_args(
        ["--config-file", os.path.join(ROOT, config), *BUDGET, *extra, "OUTPUT_DIR", str(tmp_path)])
    results = engine.main(args)
    chance = chance_map(engine.setup(args))
    RESULTS[method] = (results["Rank-1"], results["mAP"], chance)
    print("\n" + tabulate([[m, *r] for m, r in RESULTS.items()],
                          headers=["method", "Rank-1", "mAP", "chance mAP"], floatfmt=".1f"))
    assert results["mAP"] > 2.0 * chance, (method, results, chance)
