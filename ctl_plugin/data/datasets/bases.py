"""`VideoDataset`: fast-reid's dataset base for tracklets, plus input checks.

Items are `(FrameSpan, pid, camid)` (see `data/tracklets.py`). Train pids and
camids are strings prefixed with the dataset name, as fast-reid's image datasets
do; test pids and camids are ints.
"""
import logging
import os

import numpy as np
from fastreid.data.datasets.bases import ImageDataset
from tabulate import tabulate
from termcolor import colored

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


def load_mat_array(path, variable, ndim=2, columns=None, kind="iu"):
    """Read one integer array from a MATLAB v5 `.mat` file, with checks.

    Errors name the file and the field: missing variable, wrong number of
    dimensions or columns, or a dtype outside `kind` (numpy kinds; with 'f',
    MATLAB doubles are accepted when every value is a whole number).
    """
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        mat = loadmat(path)
    except (MatReadError, ValueError, OSError) as e:
        raise DatasetLayoutError(f"'{path}': not a readable MATLAB .mat file ({e})") from e
    if variable not in mat:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise DatasetLayoutError(f"'{path}': variable '{variable}' is missing (found {found})")
    arr = np.asarray(mat[variable])
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
