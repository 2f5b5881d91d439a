import json
import os

from ctl_plugin.data.datasets import DatasetLayoutError
from ctl_plugin.data.datasets.prid2011 import PRID2011

import pytest
from fastreid.data.datasets import DATASET_REGISTRY


def _write_splits(spec, splits):
    with open(os.path.join(spec["dataset_dir"], "splits_prid2011.json"), "w") as f:
        f.write(splits if isinstance(splits, str) else json.dumps(splits))


def _shot(spec, *parts):
    return os.path.join(spec["dataset_dir"], "prid_2011", "multi_shot", *parts)


def test_registered():
    assert DATASET_REGISTRY.get("PRID2011") is PRID2011


@pytest.mark.parametrize("split_id", [0, 1])
def test_split_protocol(prid2011_dataset, split_id):
    root, spec = prid2011_dataset
    ds = PRID2011(root=str(root), split_id=split_id)
    split = spec["splits"][split_id]
    test_pids = {int(p[7:]) for p in split["test"]}
    assert [p for _, p, _ in ds.query] == sorted(test_pids)
    assert [p for _, p, _ in ds.gallery] == sorted(test_pids)
    assert {c for _, _, c in ds.query} == {0} and {c for _, _, c in ds.gallery} == {1}
    assert [(p, c) for _, p, c in ds.train] == [
        (f"PRID2011_{int(p[7:])}", f"PRID2011_{c}") for p in split["train"] for c in (0, 1)]
    assert (len(ds.train), len(ds.query), len(ds.gallery)) == (8, 4, 4)


def test_frames(prid2011_dataset):
    root, spec = prid2011_dataset
    ds = PRID2011(root=str(root))
    frames = ds.frame_lists["multi_shot"]
    persons = sorted({p for s in spec["splits"] for p in s["train"] + s["test"]})
    assert list(frames.relpaths) == [f"{c}/{p}/{f}" for c in ("cam_a", "cam_b") for p in persons
                                     for f in spec["frames"][c, p]]
    assert not any("person_0009" in r for r in frames.relpaths)  # cam_b-only persons are not indexed
    for span, pid, camid in ds.query + ds.gallery:
        cam = ("cam_a", "cam_b")[camid]
        paths = span.paths()
        assert paths == [_shot(spec, cam, f"person_{pid:04d}", f) for f in spec["frames"][cam, f"person_{pid:04d}"]]
        assert all(os.path.isfile(p) for p in paths)


def test_empty_sequence_skipped(prid2011_dataset):
    root, spec = prid2011_dataset
    person = spec["splits"][0]["train"][0]
    for f in spec["frames"]["cam_a", person]:
        os.remove(_shot(spec, "cam_a", person, f))
    ds = PRID2011(root=str(root))
    assert ds.num_skipped == {"train": 1, "query": 0, "gallery": 0}
    assert len(ds.train) == 7


def test_an_empty_query_sequence_is_an_error_naming_it(prid2011_dataset):
    root, spec = prid2011_dataset
    person = sorted(spec["splits"][0]["test"])[0]
    for f in spec["frames"]["cam_a", person]:
        os.remove(_shot(spec, "cam_a", person, f))
    with pytest.raises(DatasetLayoutError,
                       match=rf"query tracklet '.*multi_shot/cam_a/{person}' has no frame; a query cannot be dropped"):
        PRID2011(root=str(root))


def test_split_id_out_of_range(prid2011_dataset):
    root, _ = prid2011_dataset
    with pytest.raises(DatasetLayoutError,
                       match=r"split_id \(VIDEO.SPLIT\) is 2, but .*splits_prid2011\.json' holds 2"):
        PRID2011(root=str(root), split_id=2)


@pytest.mark.parametrize("content, message", [
    ("{not json", r"not valid JSON"),
    ("[]", r"expected a non-empty list of splits"),
    ([{"train": ["person_0001"]}], r"split 0 must be"),
    ([{"train": ["person_0001"], "test": ["p2"]}], r"split 0 names 'p2'"),
    ([{"train": ["person_0001"], "test": ["person_0001"]}], r"split 0 puts 'person_0001' in both"),
])
def test_malformed_split_file(prid2011_dataset, content, message):
    root, spec = prid2011_dataset
    _write_splits(spec, content)
    with pytest.raises(DatasetLayoutError, match=r"splits_prid2011\.json': " + message):
        PRID2011(root=str(root))


def test_split_person_missing_in_cam_a(prid2011_dataset):
    root, spec = prid2011_dataset
    _write_splits(spec, [{"train": ["person_0001"], "test": ["person_0010"]}])
    with pytest.raises(DatasetLayoutError, match=r"cam_a/person_0010' is not found"):
        PRID2011(root=str(root))


def test_missing_camera_folder(prid2011_dataset):
    root, spec = prid2011_dataset
    os.rename(_shot(spec, "cam_b"), _shot(spec, "moved"))
    with pytest.raises(DatasetLayoutError,
                       match=r"(?s)multi_shot/cam_b' is not found\. Expected layout.*splits_prid2011"):
        PRID2011(root=str(root))
