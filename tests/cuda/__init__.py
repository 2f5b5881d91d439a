"""Tests of the CUDA code paths, each marked `cuda` and skipped without a CUDA device
(`bench/gpu/run.sh` runs them on a GPU machine with `pytest -m cuda tests/cuda`)."""
import pytest
import torch

CUDA = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]
