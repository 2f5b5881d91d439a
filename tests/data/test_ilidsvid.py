import os

from ctl_plugin.data.datasets import DatasetLayoutError
from ctl_plugin.data.datasets.ilidsvid import iLIDSVID

import numpy as np
import pytest
from fastreid.data.datasets import DATASET_REGISTRY
from scipy.io import savemat


def _split_file(spec):
    return os.path.join(spec["dataset_dir"], "train-test people splits",
                        "train_test_splits_ilidsvid.mat")


def _seq(spec, *parts):
    return os.path.join(spec["dataset_dir"], "i-LIDS-VID", "sequences", *parts)


def test_registered_next_to_fastreid_image_ilids():
    assert DATASET_REGISTRY.get("iLIDSVID") is iLIDSVID
    assert DATASET_REGISTRY.get("iLIDS") is not iLIDSVID


@pytest.mark.parametrize("split_id", [0, 3, 9])
def test_split_halves(ilidsvid_dataset, split_id):
    """First half of ls_set row = test persons, second half = train persons."""
    root, spec = ilidsvid_dataset
    ds = iLIDSVID(root=str(root), split_id=split_id)
    row = spec["ls_set"][split_id].astype(int)
    persons = spec["persons"]
    test_pids = {int(persons[i - 1][6:]) for i in row[:4]}
    train_pids = {int(persons[i - 1][6:]) for i in row[4:]}
    assert {p for _, p, _ in ds.query} == test_pids
    assert {p for _, p, _ in ds.gallery} == test_pids
    assert {p for _, p, _ in ds.train} == {f"iLIDSVID_{p}" for p in train_pids}
    assert (len(ds.train), len(ds.query), len(ds.gallery)) == (8, 4, 4)
    assert {c for _, _, c in ds.query} == {0} and {c for _, _, c in ds.gallery} == {1}
    assert {c for _, _, c in ds.train} == {"iLIDSVID_0", "iLIDSVID_1"}
    assert ds.num_skipped == {"train": 0, "query": 0, "gallery": 0}


def test_splits_differ(ilidsvid_dataset):
    root, _ = ilidsvid_dataset
    tests = [frozenset(p for _, p, _ in iLIDSVID(root=str(root), split_id=i).query) for i in range(10)]
    assert len(set(tests)) > 1


def test_frames_sorted_and_shared_frame_list(ilidsvid_dataset):
    root, spec = ilidsvid_dataset
    ds = iLIDSVID(root=str(root))
    frames = ds.frame_lists["sequences"]
    assert list(ds.frame_lists) == ["sequences"]
    expected = [f"{cam}/{p}/{f}" for cam in ("cam1", "cam2") for p in spec["persons"]
                for f in sorted(spec["frames"][cam, p])]
    assert list(frames.relpaths) == expected
    assert frames.relpaths[0] == f"cam1/person001/{sorted(spec['frames']['cam1', 'person001'])[0]}"
    for span, pid, camid in ds.query + ds.gallery:
        cam, person = ("cam1", "cam2")[camid], f"person{pid:03d}"
        assert [os.path.basename(p) for p in span.paths()] == sorted(spec["frames"][cam, person])
        assert all(os.path.isfile(p) for p in span.paths())
    other = iLIDSVID(root=str(root), split_id=5).frame_lists["sequences"]
    assert other.digest() == frames.digest()


def test_empty_sequence_skipped_and_counted(ilidsvid_dataset):
    root, spec = ilidsvid_dataset
    row = spec["ls_set"][0].astype(int)
    person = spec["persons"][row[0] - 1]  # a test person
    for f in spec["frames"]["cam2", person]:
        os.remove(_seq(spec, "cam2", person, f))
    ds = iLIDSVID(root=str(root))
    assert ds.num_skipped == {"train": 0, "query": 0, "gallery": 1}
    assert len(ds.gallery) == 3 and len(ds.query) == 4


def test_an_empty_query_sequence_is_an_error_naming_it(ilidsvid_dataset):
    root, spec = ilidsvid_dataset
    person = spec["persons"][spec["ls_set"][0].astype(int)[0] - 1]  # a test person; cam1 is the query
    for f in spec["frames"]["cam1", person]:
        os.remove(_seq(spec, "cam1", person, f))
    with pytest.raises(DatasetLayoutError,
                       match=rf"query tracklet '.*sequences/cam1/{person}' has no frame; a query cannot be dropped"):
        iLIDSVID(root=str(root))


def test_frames_of_another_suffix_are_an_error_naming_the_folder(ilidsvid_dataset):
    root, spec = ilidsvid_dataset
    person = spec["persons"][0]
    for f in spec["frames"]["cam2", person]:
        os.rename(_seq(spec, "cam2", person, f), _seq(spec, "cam2", person, f[:-4] + ".jpg"))
    with pytest.raises(DatasetLayoutError,
                       match=rf"sequences/cam2/{person}' holds \d+ files but no frame: expected .png files"):
        iLIDSVID(root=str(root))


def test_split_id_out_of_range(ilidsvid_dataset):
    root, spec = ilidsvid_dataset
    with pytest.raises(DatasetLayoutError, match=r"split_id \(VIDEO.SPLIT\) is 10.*'ls_set' holds 10 splits"):
        iLIDSVID(root=str(root), split_id=10)


def test_ls_set_wrong_width(ilidsvid_dataset):
    root, spec = ilidsvid_dataset
    savemat(_split_file(spec), {"ls_set": spec["ls_set"][:, :5]})
    with pytest.raises(DatasetLayoutError,
                       match=r"train_test_splits_ilidsvid\.mat': field 'ls_set' has shape \(10, 5\); expected 8"):
        iLIDSVID(root=str(root))


def test_ls_set_not_a_permutation(ilidsvid_dataset):
    root, spec = ilidsvid_dataset
    bad = spec["ls_set"].copy()
    bad[2, 0] = bad[2, 1]
    savemat(_split_file(spec), {"ls_set": bad})
    iLIDSVID(root=str(root), split_id=1)
    with pytest.raises(DatasetLayoutError, match=r"row 3 of field 'ls_set' is not a permutation of 1..8"):
        iLIDSVID(root=str(root), split_id=2)


def test_ls_set_missing(ilidsvid_dataset):
    root, spec = ilidsvid_dataset
    savemat(_split_file(spec), {"splits": spec["ls_set"]})
    with pytest.raises(DatasetLayoutError, match=r"train_test_splits_ilidsvid\.mat': variable 'ls_set'"):
        iLIDSVID(root=str(root))


def test_person_missing_in_cam2(ilidsvid_dataset):
    root, spec = ilidsvid_dataset
    os.rename(_seq(spec, "cam2", "person004"), _seq(spec, "moved"))
    with pytest.raises(DatasetLayoutError, match=r"cam2/person004' is not found"):
        iLIDSVID(root=str(root))


def test_missing_split_file(ilidsvid_dataset):
    root, spec = ilidsvid_dataset
    os.remove(_split_file(spec))
    with pytest.raises(DatasetLayoutError, match=r"(?s)train_test_splits_ilidsvid\.mat' is not found.*ls_set"):
        iLIDSVID(root=str(root))


def test_missing_root(tmp_path):
    with pytest.raises(DatasetLayoutError, match=r"ilids-vid' is not found\. Expected layout"):
        iLIDSVID(root=str(tmp_path))


def test_fixture_layout(ilidsvid_dataset):
    _, spec = ilidsvid_dataset
    assert spec["ls_set"].shape == (10, 8) and spec["ls_set"].dtype == np.float64
    assert os.path.isfile(_seq(spec, "cam1", "person001", spec["frames"]["cam1", "person001"][0]))
    assert spec["frames"]["cam2", "person011"][0].startswith("cam2_person011_")
