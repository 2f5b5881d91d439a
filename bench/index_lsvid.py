"""Time the LS-VID loader on a full-size release (empty frame files).

Writes, into a temporary folder, the LS-VID release layout at its published
sizes: train 842 ids, 2,831 tracklets, 550,419 frames; test 2,730 ids, 11,333
tracklets (3,504 queries, 7,829 gallery), 2,277,075 frames; 15 cameras. The
loader must list the identity folders to find each tracklet's frames, so every
frame is created, as an empty file. Tracklet lengths are log-normal (median 150,
5-2,000 frames: only the totals are published), queries are random
test tracklets. Then times `LSVID(root=...)` twice, wall and CPU time (CPU
time is what other jobs on the machine do not change), and prints a table.

    python bench/index_lsvid.py
"""
import argparse
import os
import tempfile
import time

from ctl_plugin.data.datasets.lsvid import LSVID, write_sequence_list
from ctl_plugin.data.datasets.mat_files import save_mat73

import numpy as np
from index_mars import lengths, spread
from tabulate import tabulate

SPLITS = {  # ids, tracklets, frames
    "train": (842, 2_831, 550_419),
    "test": (2_730, 11_333, 2_277_075),
}
NUM_QUERIES = 3_504


def plan(rng, pids, num_tracklets, num_frames):
    """(pid, camera, length) records sorted by pid: at least one tracklet per id."""
    per_id = spread(rng, num_tracklets, len(pids), 1)
    lens = iter(lengths(rng, num_tracklets, num_frames, 5, 2_000, 150).tolist())
    return [(int(p), int(rng.integers(1, 16)), next(lens)) for p, k in zip(pids, per_id) for _ in range(k)]


def frame_names(trackid, cam, n):
    """`<tracklet>_<frame>_<camera>_<n>.jpg` of a tracklet's n consecutive frames."""
    return [f"{trackid}_{k:05d}_{cam:02d}_00.jpg" for k in range(1, n + 1)]


def touch_frames(dataset_dir, tracklets):
    """An empty file for every frame name."""
    flags = os.O_CREAT | os.O_WRONLY
    for prefix, _, _, names in tracklets:
        folder = os.path.join(dataset_dir, os.path.dirname(prefix))
        for name in names:
            os.close(os.open(os.path.join(folder, name), flags))


def main(argv=None):
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as root:
        d = os.path.join(root, "LS-VID")
        t0 = time.perf_counter()
        ids = rng.permutation(np.arange(1, 3_773))
        pids = {"train": np.sort(ids[:SPLITS["train"][0]]), "test": np.sort(ids[-SPLITS["test"][0]:])}
        for split, (_, num_tracklets, num_frames) in SPLITS.items():
            tracklets = write_sequence_list(d, split, plan(rng, pids[split], num_tracklets, num_frames),
                                            frame_names)
            touch_frames(d, tracklets)
        query = np.sort(rng.choice(SPLITS["test"][1], NUM_QUERIES, replace=False)) + 1
        save_mat73(os.path.join(d, "test", "data", "info_test.mat"), {"query": query.reshape(-1, 1)})
        os.sync()  # the new files' metadata written back before timing
        t1 = time.perf_counter()
        timings = []
        for _ in range(2):
            wall, cpu = time.perf_counter(), time.process_time()
            ds = LSVID(root=root)
            timings.append(f"{time.perf_counter() - wall:.2f} / {time.process_time() - cpu:.2f}")
        frames = {k: len(v) for k, v in ds.frame_lists.items()}
        rows = [
            ["generate release (s)", f"{t1 - t0:.1f}"],
            ["index LSVID, 1st run: wall / CPU (s)", timings[0]],
            ["index LSVID, 2nd run: wall / CPU (s)", timings[1]],
            ["frames tracklet_train / tracklet_test",
             f"{frames['tracklet_train']:,} / {frames['tracklet_test']:,}"],
            ["train tracklets / ids", f"{len(ds.train):,} / {ds.get_num_pids(ds.train)}"],
            ["query tracklets / ids", f"{len(ds.query):,} / {ds.get_num_pids(ds.query)}"],
            ["gallery tracklets / ids (queries not included)",
             f"{len(ds.gallery):,} / {ds.get_num_pids(ds.gallery)}"],
            ["cameras", ds.get_num_cams(ds.query + ds.gallery)],
        ]
        print(tabulate(rows, headers=["LS-VID full-size index", "value"], tablefmt="pipe"))


if __name__ == "__main__":
    main()
