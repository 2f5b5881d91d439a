"""The GPU check (bench/gpu/run.sh) in its CPU dry run: the CUDA tests are collected and
skipped, and the throughput script goes through every measurement and projection."""
import os
import subprocess
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_gpu_check_dry_run(tmp_path):
    env = dict(os.environ, OUT=str(tmp_path), PYTHON=sys.executable,
               PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    res = subprocess.run(["bash", "bench/gpu/run.sh", "--dry-run"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=900)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    tests = (tmp_path / "cuda_tests.txt").read_text()
    throughput = (tmp_path / "throughput.txt").read_text()
    if not torch.cuda.is_available():
        assert " skipped" in tests and "passed" not in tests and "failed" not in tests
    for model in ("VideoBaseline", "CTL-cache"):
        assert sum(line.startswith(model) for line in throughput.splitlines()) == 5  # 3 train, test, schedule
    assert "11.93 M frames" in throughput and "681,089 frames" in throughput
    assert "projected training" in throughput and " h " in throughput.splitlines()[-1]
