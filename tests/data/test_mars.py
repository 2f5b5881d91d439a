import os

from ctl_plugin.data.datasets import DatasetLayoutError
from ctl_plugin.data.datasets.mars import MARS, SyntheticMARS

import numpy as np
import pytest
from fastreid.data.datasets import DATASET_REGISTRY
from scipy.io import loadmat, savemat

from tests.fixtures.video_datasets import make_mars, shows_pid


def _info(spec, name):
    return os.path.join(spec["dataset_dir"], "info", name)


def _rewrite(spec, fname, variable, value):
    savemat(_info(spec, fname), {variable: value})


def test_registered():
    assert DATASET_REGISTRY.get("MARS") is MARS
    assert DATASET_REGISTRY.get("SyntheticMARS") is SyntheticMARS


def test_counts_and_skipped(mars_dataset):
    root, spec = mars_dataset
    ds = MARS(root=str(root))
    assert (len(ds.train), len(ds.query), len(ds.gallery)) == (8, 6, 14)
    assert ds.parse_data(ds.train) == (4, len({r[3] for r in spec["train_table"] if r[1] >= r[0]}))
    assert ds.parse_data(ds.query)[0] == 3
    assert ds.parse_data(ds.gallery)[0] == 4  # 3 ids + the distractors' pid 0
    assert ds.num_skipped == {"train": 1, "query": 0, "gallery": 1}


def test_official_protocol(mars_dataset):
    """Gallery = every non-empty test row with pid != -1, in table order, queries included."""
    root, spec = mars_dataset
    ds = MARS(root=str(root))
    expected = []
    for start, end, pid, cam in spec["test_table"].tolist():
        if pid != -1 and end >= start:
            expected.append((start - 1, end, pid, cam - 1))
    got = [(s.start, s.stop, p, c) for s, p, c in ds.gallery]
    assert got == expected
    assert any(p == 0 for _, p, _ in ds.gallery)
    assert all(p != -1 for _, p, _ in ds.gallery + ds.query)
    gallery_spans = {(s.start, s.stop) for s, _, _ in ds.gallery}
    for (span, pid, cam), row in zip(ds.query, spec["query_rows"]):
        start, end, tpid, tcam = spec["test_table"][row]
        assert (span.start, span.stop, pid, cam) == (start - 1, end, tpid, tcam - 1)
        assert (span.start, span.stop) in gallery_spans


def test_train_labels_are_prefixed_strings(mars_dataset):
    root, spec = mars_dataset
    ds = MARS(root=str(root))
    rows = [r for r in spec["train_table"].tolist() if r[1] >= r[0]]
    assert [(s.start, s.stop, p, c) for s, p, c in ds.train] == \
        [(s - 1, e, f"MARS_{p}", f"MARS_{c - 1}") for s, e, p, c in rows]


def test_frame_spans_point_at_frames_in_order(mars_dataset):
    root, spec = mars_dataset
    ds = MARS(root=str(root))
    assert set(ds.frame_lists) == {"bbox_train", "bbox_test"}
    for items, names in ((ds.train, spec["train_names"]), (ds.gallery, spec["test_names"])):
        for span, _, _ in items:
            paths = span.paths()
            assert [os.path.basename(p) for p in paths] == names[span.start:span.stop]
            assert paths == sorted(paths)
            assert all(os.path.isfile(p) for p in paths)
            assert all(os.path.basename(os.path.dirname(p)) == os.path.basename(p)[:4] for p in paths)
    span, pid, _ = ds.query[0]
    assert shows_pid(span.path(0), pid)


def test_frame_list_relpaths(mars_dataset):
    root, spec = mars_dataset
    ds = MARS(root=str(root))
    frames = ds.frame_lists["bbox_test"]
    assert frames.root == os.path.join(str(root), "mars", "bbox_test")
    assert list(frames.relpaths) == [n[:4] + "/" + n for n in spec["test_names"]]
    assert frames.relpaths[0].startswith("00-1/00-1C")
    assert frames.digest() == MARS(root=str(root)).frame_lists["bbox_test"].digest()


def test_synthetic_mars_reads_its_own_folder(tmp_path):
    make_mars(str(tmp_path), dataset_dir="synthetic-mars")
    ds = SyntheticMARS(root=str(tmp_path))
    assert ds.train[0][1].startswith("SyntheticMARS_")
    assert len(ds.gallery) == 14
    with pytest.raises(DatasetLayoutError, match="mars"):
        MARS(root=str(tmp_path))


def test_empty_query_tracklet_is_an_error(mars_dataset):
    """A query without frames would vanish and change the protocol: refused, named."""
    root, spec = mars_dataset
    rows = spec["query_rows"] + spec["empty_test_rows"]
    _rewrite(spec, "query_IDX.mat", "query_IDX", np.array([rows], np.uint16) + 1)
    with pytest.raises(DatasetLayoutError, match=rf"query_IDX.mat'.*row {spec['empty_test_rows'][0] + 1} "
                                                 r"of track_test_info, an empty tracklet"):
        MARS(root=str(root))


def test_swapped_start_and_end_is_corruption_not_an_empty_tracklet(mars_dataset):
    root, spec = mars_dataset
    table = spec["test_table"].copy()
    r = spec["query_rows"][1]
    assert table[r, 1] - table[r, 0] >= 2  # 3-5 frames: swapped, it is no empty row
    table[r, [0, 1]] = table[r, [1, 0]]
    _rewrite(spec, "tracks_test_info.mat", "track_test_info", table)
    with pytest.raises(DatasetLayoutError, match=rf"tracks_test_info.mat'.*row {r + 1} of 'track_test_info' "
                                                 r"has start \d+ > end \d+.*swapped columns"):
        MARS(root=str(root))


@pytest.mark.parametrize("missing", ["", "bbox_train", "bbox_test", "info/query_IDX.mat",
                                     "info/test_name.txt"])
def test_missing_paths(mars_dataset, missing):
    root, spec = mars_dataset
    path = os.path.join(spec["dataset_dir"], missing) if missing else str(root / "absent")
    if missing:
        os.rename(path, path + ".moved")
        root_arg = str(root)
    else:
        root_arg = path
    with pytest.raises(DatasetLayoutError) as e:
        MARS(root=root_arg)
    assert os.path.normpath(path) in str(e.value) or path in str(e.value)
    assert "tracks_test_info.mat" in str(e.value)  # the expected layout is spelled out


def test_missing_variable(mars_dataset):
    root, spec = mars_dataset
    _rewrite(spec, "tracks_test_info.mat", "tracks", spec["test_table"])
    with pytest.raises(DatasetLayoutError, match=r"tracks_test_info\.mat.*'track_test_info' is missing"):
        MARS(root=str(root))


def test_wrong_columns(mars_dataset):
    root, spec = mars_dataset
    _rewrite(spec, "tracks_train_info.mat", "track_train_info", spec["train_table"][:, :3])
    with pytest.raises(DatasetLayoutError, match=r"tracks_train_info\.mat.*'track_train_info'.*4 columns"):
        MARS(root=str(root))


def test_fractional_values_rejected(mars_dataset):
    root, spec = mars_dataset
    _rewrite(spec, "tracks_test_info.mat", "track_test_info", spec["test_table"] + 0.5)
    with pytest.raises(DatasetLayoutError, match=r"tracks_test_info\.mat.*non-integer"):
        MARS(root=str(root))


def test_whole_doubles_accepted_as_in_matlab(mars_dataset):
    root, spec = mars_dataset
    _rewrite(spec, "tracks_test_info.mat", "track_test_info", spec["test_table"].astype(float))
    assert len(MARS(root=str(root)).gallery) == 14


def test_text_dtype_rejected(mars_dataset):
    root, spec = mars_dataset
    _rewrite(spec, "query_IDX.mat", "query_IDX", np.array(["abc"]))
    with pytest.raises(DatasetLayoutError, match=r"query_IDX\.mat.*'query_IDX'"):
        MARS(root=str(root))


def test_name_list_shorter_than_table(mars_dataset):
    root, spec = mars_dataset
    with open(_info(spec, "test_name.txt"), "w") as f:
        f.write("\n".join(spec["test_names"][:-3]) + "\n")
    last = len(spec["test_table"])
    with pytest.raises(DatasetLayoutError,
                       match=rf"tracks_test_info\.mat': row {last} of 'track_test_info'.*test_name\.txt"):
        MARS(root=str(root))


def test_pid_mismatch_names_file_and_row(mars_dataset):
    root, spec = mars_dataset
    table = spec["test_table"].copy()
    table[4, 2] = 8
    _rewrite(spec, "tracks_test_info.mat", "track_test_info", table)
    with pytest.raises(DatasetLayoutError,
                       match=r"tracks_test_info\.mat': row 5 of 'track_test_info' \(pid 8.*'0008C"):
        MARS(root=str(root))


def test_camera_mismatch(mars_dataset):
    root, spec = mars_dataset
    table = spec["train_table"].copy()
    table[0, 3] = table[0, 3] % 6 + 1
    _rewrite(spec, "tracks_train_info.mat", "track_train_info", table)
    with pytest.raises(DatasetLayoutError, match=r"tracks_train_info\.mat': row 1 of 'track_train_info'"):
        MARS(root=str(root))


def test_row_spanning_two_identities(mars_dataset):
    root, spec = mars_dataset
    table = spec["test_table"].copy()
    table[1, 1] += 1  # last junk row now also covers the first distractor frame
    _rewrite(spec, "tracks_test_info.mat", "track_test_info", table)
    with pytest.raises(DatasetLayoutError, match=r"row 2 of 'track_test_info'.*'0000C"):
        MARS(root=str(root))


@pytest.mark.parametrize("query, message", [
    (lambda spec: [len(spec["test_table"]) + 1], r"entry 1 of 'query_IDX' is 18; expected a row"),
    (lambda spec: [spec["query_rows"][0] + 1, 1], r"entry 2 of 'query_IDX' names row 1 .* pid is -1"),
    (lambda spec: [3], r"entry 1 of 'query_IDX' names row 3 .* pid is 0"),
    (lambda spec: [spec["query_rows"][0] + 1] * 2, r"'query_IDX' lists row \d+ more than once"),
])
def test_bad_query_idx(mars_dataset, query, message):
    root, spec = mars_dataset
    _rewrite(spec, "query_IDX.mat", "query_IDX", np.array([query(spec)], np.uint16))
    with pytest.raises(DatasetLayoutError, match=r"query_IDX\.mat': " + message):
        MARS(root=str(root))


def test_query_idx_must_be_a_vector(mars_dataset):
    root, spec = mars_dataset
    _rewrite(spec, "query_IDX.mat", "query_IDX", np.ones((2, 3), np.uint16) * 5)
    with pytest.raises(DatasetLayoutError, match=r"query_IDX\.mat': field 'query_IDX' has shape \(2, 3\)"):
        MARS(root=str(root))


def test_fixture_mimics_the_official_files(mars_dataset):
    _, spec = mars_dataset
    q = loadmat(_info(spec, "query_IDX.mat"))["query_IDX"]
    assert q.dtype == np.uint16 and q.shape == (1, 6)
    assert loadmat(_info(spec, "tracks_test_info.mat"))["track_test_info"].dtype == np.int32
    assert spec["test_names"] == sorted(spec["test_names"])
    assert spec["test_names"][0].startswith("00-1")


def test_combineall_adds_each_test_tracklet_once_without_distractors(mars_dataset):
    root, spec = mars_dataset
    ds = MARS(root=str(root), combineall=True)
    real = [(s - 1, e) for s, e, p, _ in spec["test_table"].tolist() if p > 0 and e >= s]
    added = ds.train[8:]
    assert len(ds.train) == 8 + len(real) == len(ds.data)
    assert sorted((s.start, s.stop) for s, _, _ in added) == real
    assert all(p.startswith("MARS_test_") and p != "MARS_test_0" for _, p, _ in added)
    assert any(s is ds.query[0][0] for s, _, _ in added)  # shared, not copied
