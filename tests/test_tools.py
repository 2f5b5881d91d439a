"""Every tool answers --help, and takes any config, GRL's and STMN's included."""
import glob
import importlib.util
import json
import os

from ctl_plugin.config import build_cfg
from ctl_plugin.engine import VideoTrainer

import numpy as np
import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = sorted(glob.glob(os.path.join(ROOT, "tools", "*.py")) + glob.glob(os.path.join(ROOT, "tools", "*", "*.py")))
GRL = os.path.join(ROOT, "projects", "GRL", "configs", "GRL_MARS.yml")
STMN = os.path.join(ROOT, "projects", "STMN", "configs", "STMN_MARS.yml")
TINY = ["MODEL.DEVICE", "cpu", "MODEL.BACKBONE.DEPTH", "18x", "MODEL.BACKBONE.FEAT_DIM", "512",
        "MODEL.BACKBONE.PRETRAIN", "False", "INPUT.SIZE_TRAIN", "[64, 32]", "INPUT.SIZE_TEST", "[64, 32]",
        "VIDEO.TRAIN.SEQ_LEN", "4", "VIDEO.TEST.SEQ_LEN", "4", "VIDEO.TEST.NUM_WORKERS", "0",
        "TEST.IMS_PER_BATCH", "4"]


def load_tool(path):
    spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_every_tool_is_tested_here():
    assert {os.path.basename(p) for p in TOOLS} == {
        "ctl_diagnostics.py", "ctl_study.py", "demo.py", "export_onnx.py", "extract_keypoints.py", "make_synthetic.py",
        "model_stats.py", "query.py", "run_splits.py", "track_video.py", "visualize.py"}


@pytest.mark.parametrize("path", TOOLS, ids=os.path.basename)
def test_help(path, capsys):
    with pytest.raises(SystemExit) as done:
        load_tool(path).main(["--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("usage: ")


def test_model_stats_on_grl(capsys):
    load_tool(os.path.join(ROOT, "tools", "model_stats.py")).main(["--config-file", GRL, *TINY])
    out = capsys.readouterr().out
    assert out.startswith("GRL: ") and "M parameters" in out and "GFLOPs per clip of 4 x 64 x 32" in out



def test_visualize_on_grl(mars_root):
    opts = [*TINY, "MODEL.HEADS.NUM_CLASSES", "4", "DATASETS.TESTS", "('MARS',)"]
    weights = mars_root / "grl.pth"
    torch.save({"model": VideoTrainer.build_model(build_cfg(GRL, opts)).state_dict()}, weights)
    out = mars_root / "pictures"
    distmat = load_tool(os.path.join(ROOT, "tools", "visualize.py")).main(
        ["--config-file", GRL, "--output", str(out), "--num-queries", "2", *opts, "MODEL.WEIGHTS", str(weights)])
    assert distmat.shape == (6, 14) and np.isfinite(distmat).all()
    assert len(os.listdir(out / "ranklist")) == 2 and (out / "ap_histogram.png").exists()


def test_extract_keypoints_on_stmn(mars_root):
    """An STMN config names STMN keys; the tool builds it and fills the MARS fixture's cache."""
    cache = mars_root / "kp"
    status = load_tool(os.path.join(ROOT, "tools", "extract_keypoints.py")).main(
        ["--config-file", STMN, "--keypoints", "mediapipe", "--datasets", "MARS", "--no-progress",
         "DATASETS.NAMES", "('iLIDSVID',)", "DATASETS.TESTS", "('iLIDSVID',)",  # not extracted: not in --datasets
         "KEYPOINTS.CACHE_DIR", str(cache), "KEYPOINTS.EXTRACT.NUM_WORKERS", "0"])
    assert {s.frame_list: s.state for s in status} == {"bbox_train": "merged", "bbox_test": "merged"}
    assert (cache / "MARS" / "bbox_train.npy").exists() and (cache / "MARS" / "bbox_test.json").exists()
    assert not (cache / "iLIDSVID").exists()


def test_ctl_study_curve_ends_with_the_final_evaluation(tmp_path):
    """The evaluations that metrics.json holds, then the record's own mAP after the last iteration."""
    study = load_tool(os.path.join(ROOT, "tools", "ctl_study.py"))
    lines = [{"iteration": 11, "total_loss": 3.0}, {"iteration": 95, "mAP": 66.3}, {"iteration": 95, "total_loss": 2.0},
             {"iteration": 191, "mAP": 72.9}, {"iteration": 383, "total_loss": 1.0}]
    (tmp_path / "metrics.json").write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert study.evaluation_curve(str(tmp_path)) == [[96, 66.3], [192, 72.9]]
    assert study.evaluation_curve(str(tmp_path), 77.6) == [[96, 66.3], [192, 72.9], [384, 77.6]]
    assert study.evaluation_curve(str(tmp_path / "missing"), 77.6) == []


def test_ctl_study_report_pairs_the_rows_by_seed(tmp_path, capsys):
    """--report trains nothing; each later row's mAP minus the first row's, over the seeds both have."""
    study = load_tool(os.path.join(ROOT, "tools", "ctl_study.py"))
    ctl = "CTL, part term through a BN whose weight starts at 0"
    rows = {"VideoBaseline": [80.0, 84.0, 90.0], ctl: [81.0, 88.0]}
    for row, maps in rows.items():
        for seed, m in enumerate(maps):
            run_dir = tmp_path / "pretrained" / "study" / study.slug(row) / f"seed{seed}"
            run_dir.mkdir(parents=True)
            (run_dir / "results.json").write_text(json.dumps(
                {"row": row, "seed": seed, "Rank-1": m + 1, "mAP": m, "seconds": 60.0, "keys": []}))
    study.main(["--regime", "pretrained", "--rows", *rows, "--seeds", "0", "1", "2", "3", "--report",
                "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert out.startswith("5 runs done, 0 to run")
    table = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in out.splitlines()
             if line.startswith("| ") and "±" in line}
    assert table["VideoBaseline"] == ["85.7 ± 5.0", "84.7 ± 5.0", "", "", "3", "1.0"]
    # seeds 0 and 1: differences 1.0 and 4.0
    assert table[ctl] == ["85.5 ± 4.9", "84.5 ± 4.9", "", "2.5 ± 2.1 (2)", "2", "1.0"]
    assert not (tmp_path / "data").exists()  # no set generated, nothing trained
