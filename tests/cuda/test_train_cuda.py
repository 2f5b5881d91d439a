"""`train_net.py --num-gpus 1` on CUDA with AMP (fast-reid's launch, DataLoaderX, GradScaler),
and k-reciprocal re-ranking of CUDA features."""
import os
import subprocess
import sys

from ctl_plugin.evaluation import jaccard

import numpy as np
import torch
import torch.nn.functional as F

from tests.cuda import CUDA
from tests.fixtures import video_datasets
from tests.test_train_net import TINY

pytestmark = CUDA

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_train_net_one_gpu_with_amp(tmp_path):
    video_datasets.make_mars(str(tmp_path / "data"))
    out = tmp_path / "out"
    cmd = [sys.executable, "train_net.py", "--num-gpus", "1", "--config-file", "configs/Base-Video.yml", *TINY,
           "MODEL.DEVICE", "cuda", "SOLVER.AMP.ENABLED", "True", "CUDNN_BENCHMARK", "True",
           "SOLVER.MAX_EPOCH", "2", "SOLVER.CHECKPOINT_PERIOD", "2", "TEST.EVAL_PERIOD", "2",
           "TEST.RERANK.ENABLED", "True", "TEST.RERANK.K1", "4", "TEST.RERANK.K2", "2", "OUTPUT_DIR", str(out)]
    env = dict(os.environ, FASTREID_DATASETS=str(tmp_path / "data"))
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-4000:]
    assert (out / "model_final.pth").exists()
    assert "Rank-1" in log and "cuda" in log


def test_rerank_of_cuda_features_equals_cpu():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((12, 64))
    feats = torch.tensor(centres[rng.integers(0, 12, 300)] + 0.7 * rng.standard_normal((300, 64)),
                         dtype=torch.float32)
    feats = F.normalize(feats, dim=1)
    cpu = jaccard.k_reciprocal_jaccard(feats, 20, 6, rows=slice(0, 60), cols=slice(60, None))
    cuda = jaccard.k_reciprocal_jaccard(feats.cuda(), 20, 6, rows=slice(0, 60), cols=slice(60, None))
    np.testing.assert_array_equal(jaccard.initial_ranking(feats.cuda(), 20), jaccard.initial_ranking(feats, 20))
    np.testing.assert_allclose(cuda, cpu, atol=1e-5)
