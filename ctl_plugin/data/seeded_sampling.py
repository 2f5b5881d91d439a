"""Training batches that are a function of the seed and their position alone.

fast-reid's identity samplers choose which tracklets make each batch (they are
seeded from numpy's global RNG, which `setup` seeds). `SeededBatchSampler` groups
their indices into batches and gives every draw its own seed, a hash of
(SEED, rank, draw number): `ClipDataset` draws that clip's frames (RRS) and its
augmentation from a generator seeded with it. So a clip does not depend on which
loader worker builds it or on how many workers there are, and a run resumed at
iteration i (`skip(i)`) sees exactly the batches an uninterrupted run sees from i on.
"""
import hashlib
import itertools

import numpy as np


def draw_seed(seed, stream, draw):
    """A 63-bit seed for draw number `draw` of `stream` of a run seeded with `seed`; a stream is
    a process rank (the loader's draws) or a name for draws of their own ("sampler")."""
    digest = hashlib.blake2b(f"{seed}/{stream}/{draw}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


class SeededBatchSampler:
    """Batches of `(index, draw seed)` from an infinite index sampler (fast-reid's).

    sampler:    yields dataset indices forever (one rank's share under DDP)
    batch_size: indices per batch (the rank's mini-batch)
    seed, rank: what every draw seed is derived from
    """

    def __init__(self, sampler, batch_size, seed, rank=0):
        if batch_size < 1:
            raise ValueError(f"SeededBatchSampler needs batch_size >= 1, got {batch_size}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.start = 0

    def skip(self, num_batches):
        """Start the next iteration after `num_batches` batches (a resumed run's position)."""
        if num_batches < 0:
            raise ValueError(f"cannot skip {num_batches} batches")
        self.start = int(num_batches)

    def __iter__(self):
        indices = iter(self.sampler)
        first = self.start * self.batch_size
        for _ in itertools.islice(indices, first):  # the sampler's RNG advances as in the full run
            pass
        for batch in itertools.count(self.start):
            base = batch * self.batch_size
            yield [(int(i), draw_seed(self.seed, self.rank, base + j))
                   for j, i in enumerate(itertools.islice(indices, self.batch_size))]


class ResumableLoader:
    """The training loader, wrapped so that iterating it starts the real loader (and its
    workers) only when the first batch is asked for: `skip(i)` called after fast-reid's
    trainer took the iterator, but before training starts, still takes effect."""

    def __init__(self, loader):
        self.loader = loader
        self.dataset = loader.dataset
        self.batch_sampler = loader.batch_sampler

    def skip(self, num_batches):
        self.batch_sampler.skip(num_batches)

    def __iter__(self):
        yield from self.loader


def seed_worker(worker_id):
    """DataLoader `worker_init_fn`: numpy and `random` in a worker follow torch's per-worker seed."""
    import random

    import torch

    seed = torch.initial_seed() % 2 ** 32
    np.random.seed(seed)
    random.seed(seed)
