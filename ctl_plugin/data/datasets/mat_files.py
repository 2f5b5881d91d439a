"""MATLAB `.mat` files of the dataset releases: integer arrays read from v5 files (scipy) and
v7.3 files (HDF5, h5py) with checks whose errors name the file and the field, the check of
1-based row lists, and a v7.3 writer for the fixtures and benchmarks that build releases."""
import os

import numpy as np

from .bases import DatasetLayoutError


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
