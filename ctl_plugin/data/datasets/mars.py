"""MARS (Zheng et al., ECCV 2016), read from its official index files.

The loader reads only the two name lists and the three `.mat` tables; it checks
that the image folders exist but never lists or stats the 1.19M frames.

Protocol (the official `evaluation_mars.m`): query = the rows of `query_IDX`;
gallery = every test tracklet whose pid is not -1, the query tracklets included
(11,310 on the real data). The evaluator's same-id same-camera removal drops
each query's own tracklet. pid 0 (distractors) stays in the gallery; pid -1
(junk) is dropped everywhere.
"""
import os
import os.path as osp

import numpy as np
from fastreid.data.datasets import DATASET_REGISTRY

from ..tracklets import FrameList, FrameSpan
from .bases import (
    DatasetLayoutError,
    VideoDataset,
    make_items,
    read_lines,
    require_paths,
)
from .mat_files import check_query_rows, load_mat_array

MARS_LAYOUT = """\
<root>/<dataset dir>/
    bbox_train/<pid4>/<pid4>C<cam>T<tracklet4>F<frame3>.jpg
    bbox_test/<pid4>/...            (pid4 is 00-1 for junk, 0000 for distractors)
    info/train_name.txt             one frame name per line, sorted
    info/test_name.txt
    info/tracks_train_info.mat      track_train_info [N, 4]: start, end, pid, camid
    info/tracks_test_info.mat       track_test_info  [M, 4]  (1-based inclusive rows)
    info/query_IDX.mat              query_IDX (1, Q): 1-based rows of track_test_info"""


def pid_prefix(pid):
    """The first four characters of a frame name of `pid`, also its folder (junk -1 is '00-1')."""
    return "00-1" if pid == -1 else f"{pid:04d}"


def names_and_table(records):
    """Frame names and the [start, end, pid, camid] table (int32, 1-based inclusive rows) of
    tracklet records `(pid, camid, num_frames)` in table order, tracklets numbered per
    (pid, camid); a record of 0 frames is an empty row (end = start - 1)."""
    names, table, counters = [], [], {}
    for pid, cam, n in records:
        t = counters[pid, cam] = counters.get((pid, cam), 0) + 1
        prefix = f"{pid_prefix(pid)}C{cam}T{t:04d}F"
        start = len(names) + 1
        names.extend(f"{prefix}{f + 1:03d}.jpg" for f in range(n))
        table.append([start, len(names), pid, cam])
    return names, np.array(table, dtype=np.int32).reshape(-1, 4)


def write_index(dataset_dir, train_records, test_records, query_rows):
    """Write MARS's `info/` for tracklet records (see `names_and_table`) and 0-based query
    rows (stored 1-based, uint16 (1, Q)), and create empty `bbox_train`/`bbox_test`.
    Returns (train_names, train_table, test_names, test_table)."""
    from scipy.io import savemat

    info = osp.join(dataset_dir, "info")
    for d in (info, osp.join(dataset_dir, "bbox_train"), osp.join(dataset_dir, "bbox_test")):
        os.makedirs(d, exist_ok=True)
    train_names, train_table = names_and_table(train_records)
    test_names, test_table = names_and_table(test_records)
    for fname, names in (("train_name.txt", train_names), ("test_name.txt", test_names)):
        with open(osp.join(info, fname), "w") as f:
            f.write("\n".join(names) + "\n")
    savemat(osp.join(info, "tracks_train_info.mat"), {"track_train_info": train_table})
    savemat(osp.join(info, "tracks_test_info.mat"), {"track_test_info": test_table})
    query = (np.asarray(query_rows, dtype=np.uint16) + 1).reshape(1, -1)
    savemat(osp.join(info, "query_IDX.mat"), {"query_IDX": query})
    return train_names, train_table, test_names, test_table


def check_track_table(table, names, mat_path, variable, names_path):
    """Validate MARS track rows against their name list; return the non-empty mask.

    A row [start, end, pid, camid] with end = start - 1 is an empty tracklet; end < start - 1
    (e.g. swapped columns) is corruption. Every non-empty row must lie inside the name
    list, and every frame it covers must be named `<pid4>C<camid>...`.
    """
    start, end, pid, cam = table.T
    bad = np.flatnonzero(end < start - 1)
    if len(bad):
        r = bad[0]
        raise DatasetLayoutError(
            f"'{mat_path}': row {r + 1} of '{variable}' has start {start[r]} > end {end[r]}; expected "
            f"start <= end (or end = start - 1 for an empty tracklet): swapped columns?")
    nonempty = end >= start
    bad = np.flatnonzero(nonempty & ((start < 1) | (end > len(names))))
    if len(bad):
        r = bad[0]
        raise DatasetLayoutError(
            f"'{mat_path}': row {r + 1} of '{variable}' spans lines {start[r]}..{end[r]}, "
            f"outside '{names_path}' ({len(names)} lines)")
    bad = np.flatnonzero(nonempty & ((pid < -1) | (cam < 1)))
    if len(bad):
        r = bad[0]
        raise DatasetLayoutError(
            f"'{mat_path}': row {r + 1} of '{variable}' has pid {pid[r]}, camid {cam[r]}; "
            f"expected pid -1 (junk), 0 (distractor) or positive, and camid >= 1")
    if not nonempty.any():
        return nonempty
    prefix = np.asarray(names).astype("<U6")
    changes = np.concatenate([[0], np.cumsum(prefix[1:] != prefix[:-1])])
    rows = np.flatnonzero(nonempty)
    first, last = start[rows] - 1, end[rows] - 1
    expected = np.array([f"{pid_prefix(p)}C{c}" for p, c in zip(pid[rows], cam[rows])])
    bad = np.flatnonzero((prefix[first] != expected) | (changes[first] != changes[last]))
    if len(bad):
        r, i = rows[bad[0]], bad[0]
        found = sorted(set(prefix[first[i]:last[i] + 1].tolist()))
        raise DatasetLayoutError(
            f"'{mat_path}': row {r + 1} of '{variable}' (pid {pid[r]}, camid {cam[r]}) covers "
            f"lines {start[r]}..{end[r]} of '{names_path}', whose names start with {found}; "
            f"expected '{expected[i]}'")
    return nonempty


@DATASET_REGISTRY.register()
class MARS(VideoDataset):
    """MARS: 625 training ids (8,298 tracklets), 1,980 queries, 11,310 gallery tracklets."""
    _junk_pids = [0, -1]  # distractors and junk are never training identities
    dataset_dir = "mars"
    dataset_name = "MARS"

    def __init__(self, root="datasets", split_id=0, **kwargs):
        self.root = root
        self.dataset_dir = osp.join(root, self.dataset_dir)
        d = self.dataset_dir
        info = osp.join(d, "info")
        paths = {k: osp.join(info, f) for k, f in [
            ("train_names", "train_name.txt"), ("test_names", "test_name.txt"),
            ("train_table", "tracks_train_info.mat"), ("test_table", "tracks_test_info.mat"),
            ("query", "query_IDX.mat")]}
        train_dir, test_dir = osp.join(d, "bbox_train"), osp.join(d, "bbox_test")
        require_paths([d, train_dir, test_dir, info, *paths.values()], MARS_LAYOUT)

        train_names = read_lines(paths["train_names"])
        test_names = read_lines(paths["test_names"])
        train_frames = FrameList("bbox_train", train_dir, [n[:4] + "/" + n for n in train_names])
        test_frames = FrameList("bbox_test", test_dir, [n[:4] + "/" + n for n in test_names])

        train_table = load_mat_array(paths["train_table"], "track_train_info", ndim=2, columns=4,
                                     kind="iuf")
        test_table = load_mat_array(paths["test_table"], "track_test_info", ndim=2, columns=4,
                                    kind="iuf")
        train_ok = check_track_table(train_table, train_names, paths["train_table"],
                                     "track_train_info", paths["train_names"])
        test_ok = check_track_table(test_table, test_names, paths["test_table"],
                                    "track_test_info", paths["test_names"])
        query_rows = self._query_rows(paths["query"], test_table)
        empty = [r for r in query_rows if not test_ok[r]]
        if empty:  # a dropped query would change the protocol without a word
            raise DatasetLayoutError(
                f"'{paths['query']}': 'query_IDX' names row {empty[0] + 1} of track_test_info, an empty "
                f"tracklet ({len(empty)} such queries); every query needs frames")

        def rows(table, ok, frames):
            """(span, or None when empty, pid, 0-based camid) of every table row."""
            return [(FrameSpan(frames, s - 1, e) if keep else None, p, c - 1)
                    for (s, e, p, c), keep in zip(table.tolist(), ok)]

        train, skip_train = make_items(
            (r for r in rows(train_table, train_ok, train_frames) if r[1] != -1), self.dataset_name)
        test_rows = rows(test_table, test_ok, test_frames)
        gallery, skip_gallery = make_items(r for r in test_rows if r[1] != -1)
        query, skip_query = make_items(test_rows[r] for r in query_rows)
        num_skipped = {"train": skip_train, "query": skip_query, "gallery": skip_gallery}
        super().__init__(train, query, gallery,
                         frame_lists={f.name: f for f in (train_frames, test_frames)},
                         num_skipped=num_skipped, **kwargs)

    @staticmethod
    def _query_rows(path, test_table):
        """0-based rows of `track_test_info` named by `query_IDX`, checked."""
        rows = check_query_rows(load_mat_array(path, "query_IDX", ndim=2, kind="iuf"), path,
                                "query_IDX", "track_test_info", len(test_table))
        bad = np.flatnonzero(test_table[rows, 2] <= 0)
        if len(bad):
            r = rows[bad[0]]
            raise DatasetLayoutError(
                f"'{path}': entry {bad[0] + 1} of 'query_IDX' names row {r + 1} of "
                f"track_test_info, whose pid is {test_table[r, 2]}; queries must have a pid > 0")
        return rows


@DATASET_REGISTRY.register()
class SyntheticMARS(MARS):
    """The MARS layout written by the bundled synthetic generator."""
    dataset_dir = "synthetic-mars"
    dataset_name = "SyntheticMARS"
