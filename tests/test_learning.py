"""Every method learns on the bundled synthetic data: a fixed small CPU budget, fast-reid's
trainer and evaluator, mAP far above what the same model scores when it does not learn.

The bars come from a measured spread, `learning_spread.json` (`python tests/learning_spread.py`
writes it): each method trained under this budget with training seeds 0-4 at 1 and 2
threads (another thread count, like another processor, sums floats in another order and
takes another path through training), and with SOLVER.BASE_LR 0, the control that learns
nothing (same model, batches and evaluation; only BatchNorm statistics move). A method's bar
lies halfway between its control's best mAP and its worst trained mAP, so a run on another
machine keeps half the measured gap as margin on either side (`bar`)."""
import json
import os

from ctl_plugin import engine
from ctl_plugin.config import build_cfg
from ctl_plugin.data.build import build_video_test_loader
from ctl_plugin.data.synthetic import generate_synthetic_mars

import numpy as np
import pytest
from fastreid.engine import default_argument_parser
from tabulate import tabulate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPREAD_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "learning_spread.json")

# One budget for every method: ResNet-18 from scratch, 64 x 32 frames, 4 ids x 4 tracklets,
# Adam at 1e-3 for 10 epochs. SEED is appended by `train_method`.
BUDGET = [
    "MODEL.DEVICE", "cpu", "MODEL.BACKBONE.DEPTH", "18x", "MODEL.BACKBONE.FEAT_DIM", "512",
    "MODEL.BACKBONE.PRETRAIN", "False", "INPUT.SIZE_TRAIN", "[64, 32]", "INPUT.SIZE_TEST", "[64, 32]",
    "INPUT.PADDING.SIZE", "3", "DATASETS.NAMES", "('SyntheticMARS',)", "DATASETS.TESTS", "('SyntheticMARS',)",
    "DATALOADER.NUM_WORKERS", "0", "VIDEO.TEST.NUM_WORKERS", "0", "TEST.IMS_PER_BATCH", "16",
    "SOLVER.MAX_EPOCH", "10", "SOLVER.CHECKPOINT_PERIOD", "10", "TEST.EVAL_PERIOD", "10",
    "SOLVER.IMS_PER_BATCH", "16", "SOLVER.STEPS", "[8]", "SOLVER.WARMUP_ITERS", "0",
    "SOLVER.OPT", "Adam", "SOLVER.BASE_LR", "0.001", "CUDNN_BENCHMARK", "False",
]
METHODS = {
    "VideoBaseline": ("configs/Base-Video.yml", []),
    "CTL": ("configs/CTL_MARS.yml",
            ["MODEL.BACKBONE.LAST_STRIDE", "1", "KEYPOINTS.CACHE_ESTIMATOR", "ground-truth",
             "CTL.CROSS_SCALE.EMBED_DIM", "64"]),
    # GRL's OIM tables move slowly from scratch: at 10 epochs it scored 2 x chance, at 20, 4.5 x
    "GRL": ("projects/GRL/configs/GRL_MARS.yml",
            ["VIDEO.TRAIN.SEQ_LEN", "6", "VIDEO.TEST.SEQ_LEN", "6", "SOLVER.MAX_EPOCH", "20",
             "SOLVER.STEPS", "[16]", "SOLVER.CHECKPOINT_PERIOD", "20", "TEST.EVAL_PERIOD", "20"]),
    "STMN": ("projects/STMN/configs/STMN_MARS.yml", []),
}
RESULTS = {}


def measured_spread():
    with open(SPREAD_FILE) as f:
        return json.load(f)


def bar(method):
    """Halfway between the best no-learning control and the worst trained run of `method`."""
    runs = measured_spread()[method]
    worst = min(r["mAP"] for r in runs["trained"])
    control = max(r["mAP"] for r in runs["no_learning"])
    return (worst + control) / 2


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


def train_method(method, seed, output_dir, no_learning=False):
    """Train `method` under BUDGET with SEED `seed` on FASTREID_DATASETS' SyntheticMARS;
    with no_learning, at SOLVER.BASE_LR 0. Returns {"Rank-1", "mAP", "chance"}."""
    config, extra = METHODS[method]
    opts = [*BUDGET, *extra, "SEED", str(seed), "OUTPUT_DIR", str(output_dir)]
    if no_learning:
        opts += ["SOLVER.BASE_LR", "0.0"]
    args = default_argument_parser().parse_args(["--config-file", os.path.join(ROOT, config), *opts])
    results = engine.main(args)
    return {"Rank-1": float(results["Rank-1"]), "mAP": float(results["mAP"]),
            "chance": chance_map(build_cfg(args.config_file, args.opts))}


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    generate_synthetic_mars(str(root))
    return root


@pytest.mark.parametrize("method", list(METHODS))
def test_method_learns_far_above_chance(method, synthetic_root, tmp_path, monkeypatch):
    monkeypatch.setenv("FASTREID_DATASETS", str(synthetic_root))
    res = train_method(method, 0, tmp_path)
    RESULTS[method] = (res["Rank-1"], res["mAP"], bar(method), res["chance"])
    print("\n" + tabulate([[m, *r] for m, r in RESULTS.items()],
                          headers=["method", "Rank-1", "mAP", "bar", "chance mAP"], floatfmt=".1f"))
    assert res["mAP"] > bar(method), (method, res, bar(method))


@pytest.mark.parametrize("method", list(METHODS))
def test_the_spread_separates_learning_from_not_learning(method):
    """The record behind each bar: 5 seeds x 2 thread counts trained, 2 controls, and a gap
    between them wide enough that half of it is a real margin (>= 3 mAP each side)."""
    runs = measured_spread()[method]
    assert {(r["seed"], r["threads"]) for r in runs["trained"]} >= {(s, t) for s in range(5) for t in (1, 2)}
    assert len(runs["no_learning"]) >= 2
    worst = min(r["mAP"] for r in runs["trained"])
    control = max(r["mAP"] for r in runs["no_learning"])
    assert worst - bar(method) >= 3.0 and bar(method) - control >= 3.0, (method, worst, control)
