"""Shared pytest fixtures: tiny video datasets in their real on-disk layouts."""
import os

# Every test process computes on one thread, under `make test` (one pytest-xdist worker per
# core) and when a test runs alone: a test then sums its floats in one order either way.
# Set before torch starts its thread pools; processes that tests start inherit it.
os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"

import ctl_plugin  # noqa: F401  (compat fixes before any test imports fastreid)

import pytest
import torch

from tests.fixtures import video_datasets

torch.set_num_threads(1)


@pytest.fixture
def mars_dataset(tmp_path):
    """(data root, description) of a tiny MARS under <root>/mars."""
    return tmp_path, video_datasets.make_mars(str(tmp_path))


@pytest.fixture
def ilidsvid_dataset(tmp_path):
    """(data root, description) of a tiny iLIDS-VID under <root>/ilids-vid."""
    return tmp_path, video_datasets.make_ilidsvid(str(tmp_path))


@pytest.fixture
def prid2011_dataset(tmp_path):
    """(data root, description) of a tiny PRID2011 under <root>/prid2011."""
    return tmp_path, video_datasets.make_prid2011(str(tmp_path))


@pytest.fixture
def duke_video_dataset(tmp_path):
    """(data root, description) of a tiny DukeMTMC-VideoReID under <root>/dukemtmc-vidreid."""
    return tmp_path, video_datasets.make_duke_video(str(tmp_path))


@pytest.fixture
def lsvid_dataset(tmp_path):
    """(data root, description) of a tiny LS-VID under <root>/LS-VID."""
    return tmp_path, video_datasets.make_lsvid(str(tmp_path))


@pytest.fixture
def mars_root(tmp_path, monkeypatch):
    """tmp_path with a tiny MARS under data/mars, made fast-reid's data root."""
    video_datasets.make_mars(str(tmp_path / "data"))
    monkeypatch.setenv("FASTREID_DATASETS", str(tmp_path / "data"))
    return tmp_path
