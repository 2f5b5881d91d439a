"""`VideoDataset`: fast-reid's dataset base for tracklets, the layout checks, and the
indexing of tracklet frames stored as one folder per tracklet or as name prefixes inside
shared folders (`.mat` files: `mat_files.py`).

Items are `(FrameSpan, pid, camid)` (see `data/tracklets.py`). Train pids and
camids are strings prefixed with the dataset name, as fast-reid's image datasets
do; test pids and camids are ints.
"""
import bisect
import logging
import os

import numpy as np
from fastreid.data.datasets.bases import ImageDataset
from tabulate import tabulate
from termcolor import colored

from ..tracklets import FrameList, FrameSpan

logger = logging.getLogger(__name__)


class DatasetLayoutError(FileNotFoundError):
    """A dataset folder or file is missing or malformed; the message names it and
    the expected layout."""


class VideoDataset(ImageDataset):
    """A fast-reid dataset of tracklets.

    frame_lists: the `FrameList`s the tracklets index into, by name (one per
                 split; each has its own key-point cache).
    num_skipped: tracklets dropped while loading (empty ones), by subset.
    """

    def __init__(self, train, query, gallery, frame_lists, num_skipped=None, **kwargs):
        self.frame_lists = dict(frame_lists)
        self.num_skipped = dict(num_skipped or {})
        super().__init__(train, query, gallery, **kwargs)

    def combine_all(self):
        """Train on train + query + gallery (fast-reid's DATASETS.COMBINEALL).

        Unlike fast-reid's version, spans are shared rather than deep-copied,
        a tracklet that is both query and gallery is added once, and
        `_junk_pids` are left out.
        """
        combined, seen = list(self.train), set()
        for span, pid, camid in self.query + self.gallery:
            key = (span.frames.name, span.start, span.stop)
            if pid in self._junk_pids or key in seen:
                continue
            seen.add(key)
            combined.append((span, f"{self.dataset_name}_test_{pid}", f"{self.dataset_name}_test_{camid}"))
        self._train = combined

    def _rows(self, subsets):
        rows = []
        for name, items in subsets:
            pids, cams = self.parse_data(items)
            lengths = np.array([len(span) for span, _, _ in items]) if items else np.zeros(1, int)
            rows.append([name, pids, len(items), int(lengths.sum()), cams,
                         f"{lengths.min()}/{lengths.mean():.1f}/{lengths.max()}",
                         self.num_skipped.get(name, 0)])
        return rows

    def _show(self, subsets):
        headers = ["subset", "# ids", "# tracklets", "# frames", "# cameras",
                   "frames/tracklet min/mean/max", "# skipped (empty)"]
        table = tabulate(self._rows(subsets), tablefmt="pipe", headers=headers, numalign="left")
        logger.info(f"=> Loaded {self.__class__.__name__} in csv format: \n" + colored(table, "cyan"))

    def show_train(self):
        self._show([("train", self.train)])

    def show_test(self):
        self._show([("query", self.query), ("gallery", self.gallery)])


def require_paths(paths, layout):
    """Raise `DatasetLayoutError` naming the first missing path and the expected layout."""
    for p in paths:
        if not os.path.exists(p):
            raise DatasetLayoutError(f"'{p}' is not found. Expected layout:\n{layout}")


def read_lines(path):
    """The lines of a text file, in order, without trailing blank lines."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def frame_list_spans(name, root, tracklets):
    """One `FrameList` over tracklets given as lists of relative frame paths, in order.

    Returns (FrameList, spans): spans[i] is the `FrameSpan` of tracklets[i], or
    None when it has no frame.
    """
    relpaths, bounds = [], []
    for paths in tracklets:
        bounds.append((len(relpaths), len(relpaths) + len(paths)))
        relpaths.extend(paths)
    frame_list = FrameList(name, root, relpaths)
    spans = [FrameSpan(frame_list, a, b) if b > a else None for a, b in bounds]
    return frame_list, spans


def index_folders(name, root, folders, suffix, sort_key=None):
    """One `FrameList` over the frames of tracklet folders, for datasets stored as
    one folder per tracklet.

    folders:  folder paths relative to `root`, in the order the list follows.
    suffix:   frame file suffix, lower case, or a tuple of them, e.g. ".png"; matched in any case.
    sort_key: orders a folder's frames given the frame's full path (default: by name).
    A folder without any file is an empty tracklet (span None); one whose files have
    none of the suffixes is an error naming it.
    Returns `frame_list_spans`' (FrameList, spans), spans[i] for folders[i].
    """
    def frames(folder):
        full = os.path.join(root, folder)
        files = sorted(e.name for e in os.scandir(full) if e.is_file())
        names = [n for n in files if n.lower().endswith(suffix)]
        if files and not names:
            raise DatasetLayoutError(
                f"'{full}' holds {len(files)} files but no frame: expected {suffix} files, "
                f"found e.g. {files[0]!r}")
        if sort_key is not None:
            names.sort(key=lambda f: sort_key(os.path.join(full, f)))
        return [f"{folder}/{f}" for f in names]

    return frame_list_spans(name, root, (frames(folder) for folder in folders))


def index_prefixes(name, root, prefixes, suffix):
    """One `FrameList` over tracklets given as path prefixes, for datasets that keep
    several tracklets in one folder.

    prefixes: paths relative to `root`, "<folder>/<name prefix>", in the order the
              list follows; a tracklet's frames are the entries of <folder> whose
              names start with <name prefix> and end with `suffix` (as in `index_folders`),
              sorted by name (names sharing a prefix are contiguous in that order).
    Each folder is listed once; a missing folder holds no frame.
    Returns `frame_list_spans`' (FrameList, spans), spans[i] for prefixes[i].
    """
    listings = {}

    def frames(prefix):
        folder, start = os.path.split(prefix)
        if folder not in listings:
            full = os.path.join(root, folder)
            listings[folder] = sorted(
                n for n in os.listdir(full) if n.lower().endswith(suffix)) if os.path.isdir(full) else []
        names = listings[folder]
        a = bisect.bisect_left(names, start)
        b = bisect.bisect_left(names, start[:-1] + chr(ord(start[-1]) + 1)) if start else len(names)
        return [f"{folder}/{n}" for n in names[a:b]]

    return frame_list_spans(name, root, (frames(p) for p in prefixes))


def subfolders(path):
    """Sorted names of the folders inside `path`."""
    return sorted(e.name for e in os.scandir(path) if e.is_dir())


def make_items(entries, prefix=None, query_paths=None):
    """Dataset items from `(FrameSpan or None, pid, camid)` entries.

    Entries without a span (empty tracklets) are dropped and counted. With
    `prefix` (training subsets), pid and camid become "<prefix>_<value>" strings.
    With `query_paths` (the query subset; query_paths[i] names entries[i]), an empty
    entry is an error naming its path instead: dropping a query changes the protocol.
    Returns (items, number dropped).
    """
    items, skipped = [], 0
    for i, (span, pid, camid) in enumerate(entries):
        if span is None and query_paths is not None:
            raise DatasetLayoutError(f"query tracklet '{query_paths[i]}' has no frame; a query cannot be "
                                     f"dropped without changing the protocol")
        if span is None:
            skipped += 1
        elif prefix is None:
            items.append((span, pid, camid))
        else:
            items.append((span, f"{prefix}_{pid}", f"{prefix}_{camid}"))
    return items, skipped
