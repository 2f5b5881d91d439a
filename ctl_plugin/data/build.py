"""Video train/test loaders, built on fast-reid's own loader builders.

Training draws its indices from fast-reid's samplers (`DATALOADER.SAMPLER_TRAIN`, e.g.
NaiveIdentitySampler: P identities x K = NUM_INSTANCE tracklets, distributed-aware), built
as fast-reid builds them but with an explicit seed; batch size and worker settings apply
unchanged, with tracklets in place of images. The batches come from `SeededBatchSampler`,
so they are a function of SEED and the iteration.
The test loader yields one entry per tracklet, queries first, as fast-reid's
`ReidEvaluator` expects.
"""
import logging
import os

import numpy as np
import torch
from fastreid.data import build as fr_build
from fastreid.data import samplers
from fastreid.data.datasets import DATASET_REGISTRY
from fastreid.utils import comm

from ..config import ConfigError
from ..io import file_sha256
from ..keypoints import KEYPOINT_SOURCES
from ..keypoints.cache import KeypointCache
from .clip_dataset import ClipDataset, clip_batch_collator
from .seeded_sampling import ResumableLoader, SeededBatchSampler, draw_seed, seed_worker
from .transforms import ClipTransform

logger = logging.getLogger(__name__)

# fast-reid's samplers that draw IMS_PER_BATCH / NUM_INSTANCE identities per batch
IDENTITY_SAMPLERS = ("NaiveIdentitySampler", "BalancedIdentitySampler")
# every value of DATALOADER.SAMPLER_TRAIN: fast-reid's training samplers, less
# SetReWeightSampler, whose first batch raises a numpy ValueError in fastreid 1.4.0
TRAIN_SAMPLERS = ("TrainingSampler", *IDENTITY_SAMPLERS, "ImbalancedDatasetSampler")


# fast-reid's default data root when FASTREID_DATASETS is unset (fastreid.data.build reads it
# once, at import, into a private name; tests/data/test_data_root.py checks they agree)
DEFAULT_DATA_ROOT = "datasets"


def data_root():
    """fast-reid's data root (`FASTREID_DATASETS`, default `datasets/`), read at call time."""
    return os.getenv("FASTREID_DATASETS", DEFAULT_DATA_ROOT)


def load_dataset(cfg, name, combineall=False):
    """A registered video dataset, built as fast-reid builds its datasets; `combineall`
    (fast-reid's DATASETS.COMBINEALL, training only) adds its query and gallery to its train set."""
    return DATASET_REGISTRY.get(name)(root=data_root(), split_id=cfg.VIDEO.SPLIT, combineall=combineall)


def keypoint_cache_dir(cfg):
    """KEYPOINTS.CACHE_DIR, or <data root>/keypoints when it is empty."""
    return cfg.KEYPOINTS.CACHE_DIR or os.path.join(data_root(), "keypoints")


def cache_weights_sha256(cfg):
    """The weights a cache must have been made with: those of KEYPOINTS.MMPOSE.CHECKPOINT
    when it names a file and KEYPOINTS.CACHE_ESTIMATOR an mmpose estimator, else any."""
    checkpoint = cfg.KEYPOINTS.MMPOSE.CHECKPOINT
    if cfg.KEYPOINTS.CACHE_ESTIMATOR.startswith("mmpose") and os.path.isfile(checkpoint):
        return file_sha256(checkpoint)
    return ""


def open_keypoint_caches(cfg, name, dataset, for_training=False):
    """{FrameList: KeypointCache} for every frame list of `dataset`, or None without a cache.
    Each is validated (see `keypoints.cache`); caches of random weights are refused `for_training`."""
    source = cfg.KEYPOINTS.SOURCE
    if source not in KEYPOINT_SOURCES:
        raise ConfigError(f"KEYPOINTS.SOURCE '{source}' is unknown; expected one of {KEYPOINT_SOURCES}")
    if source != "cache":
        return None
    cache_dir, weights = keypoint_cache_dir(cfg), cache_weights_sha256(cfg)
    return {fl: KeypointCache.open(cache_dir, name, fl, cfg.KEYPOINTS.CACHE_ESTIMATOR, weights, for_training)
            for fl in dataset.frame_lists.values()}


def check_train_set(cfg, num_tracklets, num_identities, world_size=1):
    """The training set must fill a batch, and fast-reid's identity samplers, which loop
    until they find IMS_PER_BATCH / NUM_INSTANCE identities, must find them."""
    batch, names = cfg.SOLVER.IMS_PER_BATCH, ", ".join(cfg.DATASETS.NAMES)
    if batch % world_size:
        raise ConfigError(f"SOLVER.IMS_PER_BATCH {batch} is not divisible by the {world_size} processes")
    if not num_tracklets:
        raise ConfigError(f"{names} has no training tracklet with frames (DATASETS.NAMES): see the dataset's "
                          f"table in the log for the empty ones it skipped")
    if num_tracklets < batch:
        raise ConfigError(f"SOLVER.IMS_PER_BATCH is {batch} but {names} has {num_tracklets} training tracklets: "
                          f"an epoch would have no iteration; lower SOLVER.IMS_PER_BATCH to at most {num_tracklets}")
    if cfg.DATALOADER.SAMPLER_TRAIN in IDENTITY_SAMPLERS:
        per_batch = batch // world_size // cfg.DATALOADER.NUM_INSTANCE
        if num_identities < per_batch:
            raise ConfigError(
                f"SOLVER.IMS_PER_BATCH / DATALOADER.NUM_INSTANCE = {per_batch} identities per batch, but {names} "
                f"has {num_identities} training identities; lower SOLVER.IMS_PER_BATCH or raise "
                f"DATALOADER.NUM_INSTANCE so that at most {num_identities} identities fill a batch")


def sampler_seed(seed):
    """The shuffling seed of fast-reid's training sampler for a run seeded with `seed`: the
    same on every rank. It is what `fastreid.utils.comm.shared_random_seed` draws from numpy
    seeded with `draw_seed(seed, "sampler", 0)`, so it is a function of SEED alone."""
    return int(np.random.RandomState(draw_seed(seed, "sampler", 0) % 2 ** 32).randint(2 ** 31))


def build_train_sampler(cfg, train_set):
    """fast-reid's DATALOADER.SAMPLER_TRAIN over `train_set` (a fast-reid `CommDataset`), with
    its arguments as fast-reid's `build_reid_train_loader` gives them and `sampler_seed(SEED)`."""
    name, seed = cfg.DATALOADER.SAMPLER_TRAIN, sampler_seed(cfg.SEED)
    logger.info(f"Using training sampler {name}")
    items, k = train_set.img_items, cfg.DATALOADER.NUM_INSTANCE
    mini_batch = cfg.SOLVER.IMS_PER_BATCH // comm.get_world_size()
    if name == "TrainingSampler":
        return samplers.TrainingSampler(len(train_set), seed=seed)
    if name in IDENTITY_SAMPLERS:
        return getattr(samplers, name)(items, mini_batch, k, seed=seed)
    if name == "ImbalancedDatasetSampler":
        return samplers.ImbalancedDatasetSampler(items, seed=seed)
    raise ConfigError(f"DATALOADER.SAMPLER_TRAIN '{name}': expected one of {TRAIN_SAMPLERS}")


def build_video_train_loader(cfg):
    """The training loader of DATASETS.NAMES: RRS clips, fast-reid's sampler, seeded batches.

    Returns a `ResumableLoader`: `loader.skip(i)` before the first batch resumes at iteration i.
    """
    items, caches = [], {}
    for name in cfg.DATASETS.NAMES:
        dataset = load_dataset(cfg, name, combineall=cfg.DATASETS.COMBINEALL)
        if comm.is_main_process():
            dataset.show_train()
        items.extend(dataset.train)
        caches.update(open_keypoint_caches(cfg, name, dataset, for_training=True) or {})
    train_set = ClipDataset(items, ClipTransform.from_config(cfg, is_train=True), cfg.VIDEO.TRAIN.SEQ_LEN,
                            keypoints=caches or None, relabel=True)
    check_train_set(cfg, len(train_set), train_set.num_classes, comm.get_world_size())
    sampler = build_train_sampler(cfg, train_set)
    mini_batch = cfg.SOLVER.IMS_PER_BATCH // comm.get_world_size()
    return ResumableLoader(fr_build.DataLoaderX(
        comm.get_local_rank(),
        dataset=train_set,
        batch_sampler=SeededBatchSampler(sampler, mini_batch, cfg.SEED, comm.get_rank()),
        num_workers=cfg.DATALOADER.NUM_WORKERS,
        collate_fn=fr_build.fast_batch_collator,
        worker_init_fn=seed_worker,
        pin_memory=True,
    ))


def build_video_test_loader(cfg, dataset_name):
    """(loader, num_query): one item per tracklet, queries first, then the gallery."""
    dataset = load_dataset(cfg, dataset_name)
    if comm.is_main_process():
        dataset.show_test()
    keypoints = open_keypoint_caches(cfg, dataset_name, dataset)
    return build_tracklet_loader(cfg, dataset.query + dataset.gallery, keypoints), len(dataset.query)


def build_tracklet_loader(cfg, items, keypoints=None):
    """A test-mode loader over tracklet items (span, pid, camid), one entry per tracklet, in order.
    keypoints: {FrameList: KeypointCache} when the model reads cached key-points."""
    test_set = ClipDataset(items, ClipTransform.from_config(cfg, is_train=False), cfg.VIDEO.TEST.SEQ_LEN,
                           test_mode=cfg.VIDEO.TEST.MODE, keypoints=keypoints)
    mini_batch = max(cfg.TEST.IMS_PER_BATCH // comm.get_world_size(), 1)
    batch_sampler = torch.utils.data.BatchSampler(samplers.InferenceSampler(len(test_set)), mini_batch, False)
    return fr_build.DataLoaderX(
        comm.get_local_rank(),
        dataset=test_set,
        batch_sampler=batch_sampler,
        num_workers=cfg.VIDEO.TEST.NUM_WORKERS,
        collate_fn=clip_batch_collator,
        pin_memory=True,
    )
