"""Time the MARS loader on a full-size index (no images).

Writes, into a temporary folder, MARS index files with the real sizes and
distributions: name lists of 509,914 and 681,089 lines, track tables (8298, 4)
and (12180, 4) (870 junk rows first, 3,248 distractor rows, 634 real test ids),
query_IDX (1, 1980) over 626 ids with 2-6 queries each, tracklet lengths
log-normal (train 5-900, median about 36; test 2-920). The image folders are
created empty. Then times `MARS(root=...)` and prints a table.

    python bench/index_mars.py
"""
import argparse
import os
import tempfile
import time

from ctl_plugin.data.datasets.mars import MARS, write_index

import numpy as np
from tabulate import tabulate

TRAIN_FRAMES, TEST_FRAMES = 509_914, 681_089
TRAIN_ROWS, TEST_ROWS = 8_298, 12_180
TRAIN_IDS, TEST_IDS, QUERY_IDS, NUM_QUERIES = 625, 634, 626, 1_980
JUNK_ROWS, DISTRACTOR_ROWS = 870, 3_248


def lengths(rng, n, total, low, high, median):
    """`n` log-normal lengths in [low, high] with the given median, summing to `total`."""
    x = np.clip(np.round(rng.lognormal(np.log(median), 1.0, n)), low, high).astype(np.int64)
    while x.sum() != total:
        diff = total - x.sum()
        room = np.flatnonzero((x < high) if diff > 0 else (x > low))
        x[rng.choice(room, min(abs(diff), len(room)), replace=False)] += np.sign(diff)
    return x


def spread(rng, total, n_bins, low, high=None):
    """Random counts per bin in [low, high], summing to `total`."""
    counts = np.full(n_bins, low)
    while counts.sum() < total:
        room = np.flatnonzero(counts < high) if high is not None else np.arange(n_bins)
        counts[rng.choice(room, min(total - counts.sum(), len(room)), replace=False)] += 1
    return counts


def train_records(rng):
    """(pid, camid, length) rows sorted by pid, cameras ascending within an id."""
    pids = np.sort(rng.choice(np.arange(1, 1502), TRAIN_IDS, replace=False))
    per_id = spread(rng, TRAIN_ROWS, TRAIN_IDS, 2)
    cams = [np.sort(rng.integers(1, 7, k)) for k in per_id]
    lens = lengths(rng, TRAIN_ROWS, TRAIN_FRAMES, 5, 900, 36)
    rows = [(int(p), int(c)) for p, cs in zip(pids, cams) for c in cs]
    return [(p, c, int(n)) for (p, c), n in zip(rows, lens)], set(pids.tolist())


def test_records(rng, train_pids):
    """Test rows and the 0-based query rows: one query per camera of each query id."""
    free = np.array(sorted(set(range(1, 1502)) - train_pids))
    pids = np.sort(rng.choice(free, TEST_IDS, replace=False))
    real_rows = TEST_ROWS - JUNK_ROWS - DISTRACTOR_ROWS
    query_cams = spread(rng, NUM_QUERIES, QUERY_IDS, 2, 6)
    num_cams = np.concatenate([query_cams, np.ones(TEST_IDS - QUERY_IDS, np.int64)])
    extra = spread(rng, real_rows - num_cams.sum(), TEST_IDS, 0)
    lens = iter(lengths(rng, TEST_ROWS, TEST_FRAMES, 2, 920, 24).tolist())
    records = [(-1, int(c), next(lens)) for c in np.sort(rng.integers(1, 7, JUNK_ROWS))]
    records += [(0, int(c), next(lens)) for c in np.sort(rng.integers(1, 7, DISTRACTOR_ROWS))]
    query = []
    for pid, k, more in zip(pids.tolist(), num_cams, extra):
        cams = np.sort(rng.choice(np.arange(1, 7), k, replace=False))
        rows = np.sort(np.concatenate([cams, rng.choice(cams, more)]))
        for i, c in enumerate(rows.tolist()):
            if k > 1 and (i == 0 or rows[i - 1] != c):
                query.append(len(records))
            records.append((pid, c, next(lens)))
    return records, query


def main(argv=None):
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as root:
        t0 = time.perf_counter()
        train, train_pids = train_records(rng)
        test, query = test_records(rng, train_pids)
        write_index(os.path.join(root, "mars"), train, test, query)
        t1 = time.perf_counter()
        ds = MARS(root=root)
        t2 = time.perf_counter()
        frames = {k: len(v) for k, v in ds.frame_lists.items()}
        rows = [
            ["generate index (s)", f"{t1 - t0:.2f}"],
            ["index MARS (s)", f"{t2 - t1:.2f}"],
            ["frames bbox_train / bbox_test", f"{frames['bbox_train']:,} / {frames['bbox_test']:,}"],
            ["train tracklets / ids", f"{len(ds.train):,} / {ds.get_num_pids(ds.train)}"],
            ["query tracklets / ids", f"{len(ds.query):,} / {ds.get_num_pids(ds.query)}"],
            ["gallery tracklets (queries included)", f"{len(ds.gallery):,}"],
            ["gallery pid-0 tracklets", f"{sum(p == 0 for _, p, _ in ds.gallery):,}"],
        ]
        print(tabulate(rows, headers=["MARS full-size index", "value"], tablefmt="pipe"))


if __name__ == "__main__":
    main()
