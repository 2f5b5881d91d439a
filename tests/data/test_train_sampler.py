"""The training sampler: fast-reid's, built with an explicit seed, without a whole loader and
without touching numpy's global RNG (fast-reid's samplers seed it themselves when they start
iterating); its indices are those fast-reid's own loader builder gives after numpy is seeded
with draw_seed(SEED, "sampler", 0)."""
import itertools

from ctl_plugin.config import build_cfg
from ctl_plugin.data.build import TRAIN_SAMPLERS, build_train_sampler, sampler_seed
from ctl_plugin.data.seeded_sampling import draw_seed

import numpy as np
import pytest
import torch
from fastreid.data import build as fr_build
from fastreid.data.common import CommDataset

# 12 identities x 5 tracklets over 2 cameras (fast-reid's item layout: path, pid, camid)
ITEMS = [(f"t{pid}_{i}", f"set_{pid}", i % 2) for pid in range(12) for i in range(5)]


def first(sampler, n=64):
    torch.manual_seed(0)  # ImbalancedDatasetSampler draws from torch's global RNG
    return list(itertools.islice(iter(sampler), n))


@pytest.mark.parametrize("name", TRAIN_SAMPLERS)
def test_indices_equal_fastreids_builder_and_numpy_is_untouched(name):
    cfg = build_cfg(None, ["SEED", "3", "DATALOADER.SAMPLER_TRAIN", name, "SOLVER.IMS_PER_BATCH", "8",
                           "DATALOADER.NUM_INSTANCE", "2"])
    train_set = CommDataset(ITEMS, relabel=True)
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    sampler = build_train_sampler(cfg, train_set)
    assert np.array_equal(np.random.get_state()[1], state)
    ours = first(sampler)
    np.random.seed(draw_seed(3, "sampler", 0) % 2 ** 32)
    theirs = first(fr_build.build_reid_train_loader(cfg, train_set=train_set).batch_sampler.sampler)
    assert ours == theirs
    assert sorted(set(ours)) != [ours[0]] and all(0 <= i < len(ITEMS) for i in ours)


def test_the_seed_follows_SEED_alone():
    assert sampler_seed(0) == sampler_seed(0) != sampler_seed(1)
    assert 0 <= sampler_seed(7) < 2 ** 31
