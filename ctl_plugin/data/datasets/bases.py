"""`VideoDataset`: fast-reid's dataset base for tracklets, input checks (layout,
MATLAB v5 and v7.3 `.mat` fields), and the indexing of tracklet frames stored as
one folder per tracklet or as name prefixes inside shared folders.

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


def check_int_array(arr, path, variable, ndim, columns=None, kind="iu"):
    """`arr` (a `.mat` field) as int64, checked; errors name the file and the field.

    Checks the number of dimensions and columns and that the dtype is in `kind`
    (numpy kinds; with 'f', MATLAB doubles are accepted when every value is a
    whole number).
    """
    arr = np.asarray(arr)
    if arr.ndim != ndim:
        raise DatasetLayoutError(
            f"'{path}': field '{variable}' has shape {arr.shape}; expected {ndim} dimensions")
    if columns is not None and arr.shape[1] != columns:
        raise DatasetLayoutError(
            f"'{path}': field '{variable}' has shape {arr.shape}; expected {columns} columns")
    if arr.dtype.kind not in kind:
        raise DatasetLayoutError(
            f"'{path}': field '{variable}' has dtype {arr.dtype}; expected an integer array")
    if arr.dtype.kind == "f" and not (np.isfinite(arr) & (arr == np.round(arr))).all():
        raise DatasetLayoutError(
            f"'{path}': field '{variable}' holds non-integer values; expected integers")
    return arr.astype(np.int64)


def load_mat_array(path, variable, ndim=2, columns=None, kind="iu"):
    """Read one integer array from a MATLAB v5 `.mat` file, with `check_int_array`'s checks
    (a missing variable is an error naming the file and what it holds)."""
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        mat = loadmat(path)
    except (MatReadError, ValueError, OSError) as e:
        raise DatasetLayoutError(f"'{path}': not a readable MATLAB .mat file ({e})") from e
    if variable not in mat:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise DatasetLayoutError(f"'{path}': variable '{variable}' is missing (found {found})")
    return check_int_array(mat[variable], path, variable, ndim, columns, kind)


MAT73_HEADER = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 ."


def save_mat73(path, variables):
    """Write a MATLAB v7.3 `.mat` file as MATLAB does: a 512-byte MATLAB header, then HDF5
    with one dataset per variable, stored transposed (MATLAB is column-major, so a
    MATLAB (Q, 1) column is HDF5 (1, Q)), as doubles with their MATLAB_class."""
    import h5py

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, value in variables.items():
            f.create_dataset(name, data=np.asarray(value, dtype=np.float64).T)
            f[name].attrs["MATLAB_class"] = np.bytes_("double")
    with open(path, "r+b") as f:
        f.write(MAT73_HEADER.ljust(116) + bytes(8) + b"\x00\x02IM")


def load_hdf5_mat_array(path, variable, ndim=2, columns=None, kind="iu"):
    """Read one integer array from a MATLAB v7.3 `.mat` file (HDF5), with
    `check_int_array`'s checks.

    MATLAB writes arrays column-major, so HDF5 holds them transposed; the array
    is returned in MATLAB's orientation (a MATLAB (Q, 1) column is HDF5 (1, Q)).
    """
    import h5py

    if not h5py.is_hdf5(path):
        raise DatasetLayoutError(
            f"'{path}': not an HDF5 file; expected a MATLAB v7.3 .mat file (HDF5) holding "
            f"field '{variable}' (a MATLAB v5 file must be re-saved with save -v7.3)")
    with h5py.File(path, "r") as f:
        if variable not in f:
            found = sorted(k for k in f if not k.startswith("#"))
            raise DatasetLayoutError(f"'{path}': field '{variable}' is missing (found {found})")
        node = f[variable]
        if not isinstance(node, h5py.Dataset):
            raise DatasetLayoutError(
                f"'{path}': field '{variable}' is a MATLAB struct or cell; expected a numeric array")
        if node.attrs.get("MATLAB_empty", 0):
            raise DatasetLayoutError(f"'{path}': field '{variable}' is empty")
        arr = node[()]
    return check_int_array(np.asarray(arr).T, path, variable, ndim, columns, kind)


def check_query_rows(idx, path, variable, rows_of, num_rows):
    """0-based rows named by a `.mat` vector of 1-based row numbers, checked: a
    vector, every entry in 1..num_rows (`rows_of` names what they index), none twice."""
    if idx.ndim != 2 or min(idx.shape) != 1:
        raise DatasetLayoutError(
            f"'{path}': field '{variable}' has shape {idx.shape}; expected a vector, (1, Q) or (Q, 1)")
    idx = idx.ravel()
    bad = np.flatnonzero((idx < 1) | (idx > num_rows))
    if len(bad):
        raise DatasetLayoutError(
            f"'{path}': entry {bad[0] + 1} of '{variable}' is {idx[bad[0]]}; expected a row "
            f"of {rows_of}, 1..{num_rows}")
    uniq, counts = np.unique(idx, return_counts=True)
    if (counts > 1).any():
        raise DatasetLayoutError(
            f"'{path}': '{variable}' lists row {uniq[counts > 1][0]} more than once")
    return idx - 1


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
