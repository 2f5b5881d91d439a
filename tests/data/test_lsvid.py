import os
import re

import ctl_plugin  # noqa: F401  (compat fixes and registration before fastreid)
from ctl_plugin.data.datasets import DatasetLayoutError
from ctl_plugin.data.datasets.lsvid import LSVID
from ctl_plugin.data.datasets.mat_files import save_mat73

import h5py
import numpy as np
import pytest
from fastreid.data.datasets import DATASET_REGISTRY
from fastreid.evaluation.rank import evaluate_rank
from scipy.io import loadmat, savemat

from tests.fixtures.video_datasets import shows_pid, write_frame


def _path(spec, *parts):
    return os.path.join(spec["dataset_dir"], *parts)


def _query_mat(spec):
    return _path(spec, "test", "data", "info_test.mat")


def _write_list(spec, split, lines):
    with open(_path(spec, "list_sequence", f"list_seq_{split}.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def _list_lines(spec, split):
    return [f"{prefix} {pid}" for prefix, pid, _, _ in spec["tracklets"][split]]


def test_registered():
    assert DATASET_REGISTRY.get("LSVID") is LSVID


def test_counts(lsvid_dataset):
    root, _ = lsvid_dataset
    ds = LSVID(root=str(root))
    assert (len(ds.train), len(ds.query), len(ds.gallery)) == (8, 5, 10)
    assert ds.parse_data(ds.train)[0] == 4
    assert ds.parse_data(ds.query)[0] == 4
    assert ds.parse_data(ds.gallery)[0] == 6  # 4 test ids + 2 distractors
    assert ds.num_skipped == {"train": 0, "query": 0, "gallery": 0}


def test_train_labels_are_prefixed_strings(lsvid_dataset):
    root, spec = lsvid_dataset
    ds = LSVID(root=str(root))
    train = spec["tracklets"]["train"]
    assert [(p, c) for _, p, c in ds.train] == \
        [(f"LSVID_{pid}", f"LSVID_{cam - 1}") for _, pid, cam, _ in train]


def test_queries_follow_info_test_mat_and_do_not_join_the_gallery(lsvid_dataset):
    """Query: the `query` rows in file order. Gallery: every other test line, in list
    order; no query tracklet is in the gallery."""
    root, spec = lsvid_dataset
    ds = LSVID(root=str(root))
    test, rows = spec["tracklets"]["test"], spec["query_rows"]
    assert rows != sorted(rows)
    assert [(p, c) for _, p, c in ds.query] == [(test[r][1], test[r][2] - 1) for r in rows]
    gallery_rows = [r for r in range(len(test)) if r not in rows]
    assert [(p, c) for _, p, c in ds.gallery] == [(test[r][1], test[r][2] - 1) for r in gallery_rows]
    query_spans = {(s.start, s.stop) for s, _, _ in ds.query}
    gallery_spans = {(s.start, s.stop) for s, _, _ in ds.gallery}
    assert not query_spans & gallery_spans
    assert len(query_spans | gallery_spans) == len(test)
    assert all(s.frames is ds.frame_lists["tracklet_test"] for s, _, _ in ds.query + ds.gallery)


def test_frames_in_temporal_order(lsvid_dataset):
    """Frames were written in shuffled order; spans follow their names (frame numbers).
    A file that is not an image is not a frame."""
    root, spec = lsvid_dataset
    with open(_path(spec, "tracklet_test", "0004", "00040001_notes.txt"), "w") as f:
        f.write("not a frame")
    ds = LSVID(root=str(root))
    test = spec["tracklets"]["test"]
    for items, rows in ((ds.query, spec["query_rows"]),
                        (ds.gallery, [r for r in range(len(test)) if r not in spec["query_rows"]])):
        for (span, _, _), r in zip(items, rows):
            prefix, _, _, names = test[r]
            paths = span.paths()
            assert [os.path.basename(p) for p in paths] == names
            assert all(p == _path(spec, os.path.dirname(prefix), n) for p, n in zip(paths, names))
    span, pid, _ = ds.query[0]
    assert shows_pid(span.path(0), pid)


def test_frame_lists(lsvid_dataset):
    root, spec = lsvid_dataset
    ds = LSVID(root=str(root))
    assert set(ds.frame_lists) == {"tracklet_train", "tracklet_test"}
    frames = ds.frame_lists["tracklet_train"]
    assert frames.root == spec["dataset_dir"]
    train = spec["tracklets"]["train"]
    assert list(frames.relpaths) == [f"{os.path.dirname(prefix)}/{n}"
                                     for prefix, _, _, names in train for n in names]
    assert frames.digest() == LSVID(root=str(root)).frame_lists["tracklet_train"].digest()


def test_fixture_mimics_the_official_files(lsvid_dataset):
    """info_test.mat is MATLAB v7.3: HDF5 behind a MATLAB header, `query` a double
    column of 1-based rows (HDF5 (1, Q)), read by published loaders as ['query'][0, :]."""
    _, spec = lsvid_dataset
    path = _query_mat(spec)
    with open(path, "rb") as f:
        assert f.read(19) == b"MATLAB 7.3 MAT-file"
    assert h5py.is_hdf5(path)
    with pytest.raises(NotImplementedError):
        loadmat(path)  # scipy reads only v4-v7.2
    with h5py.File(path, "r") as f:
        query = f["query"]
        assert query.shape == (1, len(spec["query_rows"])) and query.dtype == np.float64
        assert list(query[0, :].astype(int) - 1) == spec["query_rows"]
    assert os.path.isfile(_path(spec, "test", "data", "info_val.mat"))
    assert os.path.isfile(_path(spec, "list_sequence", "list_seq_val.txt"))


def test_val_split_is_not_read(lsvid_dataset):
    root, spec = lsvid_dataset
    for part in (("list_sequence", "list_seq_val.txt"), ("test", "data", "info_val.mat")):
        os.remove(_path(spec, *part))
    assert len(LSVID(root=str(root)).gallery) == 10


def test_same_id_same_camera_is_junk_for_fastreid_evaluator(lsvid_dataset):
    """Each query ranks its same-id same-camera gallery tracklet first, a wrong id
    second and its cross-camera match third: the first is junk, so rank-1 misses
    and AP is 1/2 for every query."""
    root, _ = lsvid_dataset
    ds = LSVID(root=str(root))
    q_pids, q_cams = (np.array(v) for v in zip(*[(p, c) for _, p, c in ds.query]))
    g_pids, g_cams = (np.array(v) for v in zip(*[(p, c) for _, p, c in ds.gallery]))
    dist = np.full((len(q_pids), len(g_pids)), 3.0, np.float32)
    for q, (pid, cam) in enumerate(zip(q_pids, q_cams)):
        same_cam = np.flatnonzero((g_pids == pid) & (g_cams == cam))
        cross_cam = np.flatnonzero((g_pids == pid) & (g_cams != cam))
        assert len(same_cam) and len(cross_cam)
        dist[q, same_cam] = 0.0
        dist[q, np.flatnonzero(g_pids != pid)[0]] = 1.0
        dist[q, cross_cam] = 2.0
    cmc, ap, _ = evaluate_rank(dist, q_pids, g_pids, q_cams, g_cams, use_cython=False)
    assert len(ap) == len(q_pids)
    assert cmc[0] == 0.0 and cmc[1] == 1.0
    assert np.allclose(ap, 0.5)


@pytest.mark.parametrize("suffix", [".png", ".JPG", ".jpeg", ".bmp"])
def test_frames_of_any_image_suffix(lsvid_dataset, suffix):
    """A release whose frames are not .jpg loads the same tracklets, frame for frame."""
    root, spec = lsvid_dataset
    jpg = LSVID(root=str(root))
    for split in ("tracklet_train", "tracklet_test"):
        for folder, _, names in os.walk(_path(spec, split)):
            for n in names:
                os.rename(os.path.join(folder, n), os.path.join(folder, n[:-len(".jpg")] + suffix))
    ds = LSVID(root=str(root))
    for subset in ("train", "query", "gallery"):
        ours, theirs = getattr(ds, subset), getattr(jpg, subset)
        assert [(p, c) for _, p, c in ours] == [(p, c) for _, p, c in theirs]
        assert [[q[:-len(suffix)] for q in s.paths()] for s, _, _ in ours] == \
            [[q[:-len(".jpg")] for q in s.paths()] for s, _, _ in theirs]
    span, pid, _ = ds.query[0]
    assert span.path(0).endswith(suffix) and shows_pid(span.path(0), pid)


@pytest.mark.parametrize("split, row", [("train", 3), ("test", 0)])
def test_a_line_naming_no_frame_is_an_error(lsvid_dataset, split, row):
    """As in the published loaders: no line is dropped, a query included (row 0 is one)."""
    root, spec = lsvid_dataset
    prefix = spec["tracklets"][split][row][0]
    for name in spec["tracklets"][split][row][3]:
        os.remove(_path(spec, os.path.dirname(prefix), name))
    with pytest.raises(DatasetLayoutError,
                       match=rf"list_seq_{split}\.txt' line {row + 1}: no frame starts with '{prefix}' in "
                             rf"'.*tracklet_{split}/\d{{4}}'; expected its frames there"):
        LSVID(root=str(root))


def test_combineall_adds_each_test_tracklet_once(lsvid_dataset):
    root, spec = lsvid_dataset
    ds = LSVID(root=str(root), combineall=True)
    assert len(ds.train) == 8 + 5 + 10
    assert all(p.startswith("LSVID_test_") for _, p, _ in ds.train[8:])


@pytest.mark.parametrize("missing", ["", "list_sequence/list_seq_train.txt",
                                     "list_sequence/list_seq_test.txt", "tracklet_train",
                                     "tracklet_test", "test/data/info_test.mat"])
def test_missing_paths(lsvid_dataset, missing):
    root, spec = lsvid_dataset
    if missing:
        path = _path(spec, missing)
        os.rename(path, path + ".moved")
        root_arg = str(root)
    else:
        root_arg = str(root / "absent")
        path = os.path.join(root_arg, "LS-VID")
    with pytest.raises(DatasetLayoutError) as e:
        LSVID(root=root_arg)
    assert f"'{path}' is not found. Expected layout" in str(e.value)
    assert "list_seq_train.txt" in str(e.value) and "info_test.mat" in str(e.value)  # the layout


@pytest.mark.parametrize("line", ["tracklet_test/0004/00040001", "tracklet_test/0004/00040001 4 x",
                                  "00040001 4", "tracklet_test/0004/ 4", "/abs/0004/00040001 4", ""])
def test_malformed_list_line(lsvid_dataset, line):
    root, spec = lsvid_dataset
    lines = _list_lines(spec, "test")
    lines[2] = line
    _write_list(spec, "test", lines)
    expected = rf"list_seq_test\.txt' line 3: {re.escape(repr(line))}; expected '<frame path prefix> <pid>'"
    with pytest.raises(DatasetLayoutError, match=expected):
        LSVID(root=str(root))


def test_pid_not_an_integer(lsvid_dataset):
    root, spec = lsvid_dataset
    lines = _list_lines(spec, "train")
    lines[0] = lines[0].rsplit(" ", 1)[0] + " 1a"
    _write_list(spec, "train", lines)
    with pytest.raises(DatasetLayoutError,
                       match=r"list_seq_train\.txt' line 1: '.*00010001 1a'; the pid '1a' is not an integer"):
        LSVID(root=str(root))


@pytest.mark.parametrize("rows, message", [
    ([16], r"entry 1 of 'query' is 16; expected a row of .*list_seq_test\.txt, 1\.\.15"),
    ([1, 0], r"entry 2 of 'query' is 0; expected a row of .*list_seq_test\.txt, 1\.\.15"),
    ([3, 3], r"'query' lists row 3 more than once"),
    ([1.5], r"field 'query' holds non-integer values"),
])
def test_bad_query_entries(lsvid_dataset, rows, message):
    root, spec = lsvid_dataset
    save_mat73(_query_mat(spec), {"query": np.array(rows).reshape(-1, 1)})
    with pytest.raises(DatasetLayoutError, match=r"info_test\.mat': " + message):
        LSVID(root=str(root))


def test_query_must_be_a_vector(lsvid_dataset):
    root, spec = lsvid_dataset
    save_mat73(_query_mat(spec), {"query": np.ones((2, 3))})
    with pytest.raises(DatasetLayoutError, match=r"info_test\.mat': field 'query' has shape \(2, 3\)"):
        LSVID(root=str(root))


def test_matlab_v5_mat_is_not_hdf5(lsvid_dataset):
    root, spec = lsvid_dataset
    savemat(_query_mat(spec), {"query": np.array([[1.0, 2.0]])})
    with pytest.raises(DatasetLayoutError,
                       match=r"info_test\.mat': not an HDF5 file; expected a MATLAB v7\.3 \.mat"):
        LSVID(root=str(root))


@pytest.mark.parametrize("write, message", [
    (lambda f: f.create_dataset("queries", data=np.ones((1, 2))),
     r"field 'query' is missing \(found \['queries'\]\)"),
    (lambda f: f.create_group("query"), r"field 'query' is a MATLAB struct or cell"),
    (lambda f: f.create_dataset("query", data=np.array([0, 1], np.uint64)).attrs.create("MATLAB_empty", 1),
     r"field 'query' is empty"),
])
def test_unusable_query_field(lsvid_dataset, write, message):
    root, spec = lsvid_dataset
    with h5py.File(_query_mat(spec), "w") as f:
        write(f)
    with pytest.raises(DatasetLayoutError, match=r"info_test\.mat': " + message):
        LSVID(root=str(root))


@pytest.mark.parametrize("name", ["0001/00010001_x.jpg", "0001/00010001_notes.png"])
def test_frame_name_without_camera(lsvid_dataset, name):
    """An image whose name starts with a tracklet's prefix is one of its frames."""
    root, spec = lsvid_dataset
    path = _path(spec, "tracklet_train", name)
    write_frame(path, 1, 0)
    with pytest.raises(DatasetLayoutError,
                       match=rf"'{path}': expected a frame named <tracklet>_<frame>_<camera>_<n>\.jpg"):
        LSVID(root=str(root))


def test_mixed_cameras_in_a_tracklet(lsvid_dataset):
    root, spec = lsvid_dataset
    prefix, pid, cam, _ = spec["tracklets"]["test"][0]
    other = cam % 15 + 1
    write_frame(_path(spec, f"{prefix}_99999_{other:02d}_00.jpg"), pid, 0)
    with pytest.raises(DatasetLayoutError,
                       match=rf"list_seq_test\.txt' line 1: the frames of '{prefix}' name cameras "
                             rf"\[{min(cam, other)}, {max(cam, other)}\]; expected one"):
        LSVID(root=str(root))
