import os

from ctl_plugin.data.datasets import DatasetLayoutError
from ctl_plugin.data.datasets.duke_video import DukeMTMCVidReID

import pytest
from fastreid.data.datasets import DATASET_REGISTRY

from tests.fixtures.video_datasets import write_frame


def test_registered():
    assert DATASET_REGISTRY.get("DukeMTMCVidReID") is DukeMTMCVidReID


def test_subsets_match_folders(duke_video_dataset):
    root, spec = duke_video_dataset
    ds = DukeMTMCVidReID(root=str(root))
    t = spec["tracklets"]
    assert [(p, c) for _, p, c in ds.train] == \
        [(f"DukeMTMCVidReID_{p}", f"DukeMTMCVidReID_{c - 1}") for p, c, _ in t["train"]]
    assert [(p, c) for _, p, c in ds.query] == [(p, c - 1) for p, c, _ in t["query"]]
    assert [(p, c) for _, p, c in ds.gallery] == [(p, c - 1) for p, c, _ in t["gallery"]]
    assert (len(ds.train), len(ds.query), len(ds.gallery)) == (6, 2, 5)
    assert ds.parse_data(ds.gallery)[0] == 3
    assert ds.num_skipped == {"train": 0, "query": 0, "gallery": 0}


def test_frames_in_temporal_order(duke_video_dataset):
    """Files were written in shuffled order; spans follow the F<frame> numbers."""
    root, spec = duke_video_dataset
    ds = DukeMTMCVidReID(root=str(root))
    assert list(ds.frame_lists) == ["train", "query", "gallery"]
    for subset in ("train", "query", "gallery"):
        items = getattr(ds, subset)
        for (span, _, _), (pid, _, names) in zip(items, spec["tracklets"][subset]):
            paths = span.paths()
            assert [os.path.basename(p) for p in paths] == names
            assert all(os.path.isfile(p) for p in paths)
            assert all(p.startswith(os.path.join(spec["dataset_dir"], subset, f"{pid:04d}")) for p in paths)


def test_frame_numbers_sorted_numerically(tmp_path):
    d = tmp_path / "dukemtmc-vidreid" / "DukeMTMC-VideoReID"
    for subset in ("query", "gallery"):
        os.makedirs(d / subset)
    names = ["0007_C3_F998_X1.jpg", "0007_C3_F1000_X2.jpg", "0007_C3_F0999_X3.jpg"]
    for pos, n in enumerate(names):
        write_frame(str(d / "train" / "0007" / "0001" / n), 7, pos)
    ds = DukeMTMCVidReID(root=str(tmp_path))
    assert [os.path.basename(p) for p in ds.train[0][0].paths()] == [names[0], names[2], names[1]]
    assert ds.train[0][2] == "DukeMTMCVidReID_2"


def test_empty_tracklet_skipped(duke_video_dataset):
    root, spec = duke_video_dataset
    os.makedirs(os.path.join(spec["dataset_dir"], "gallery", "0002", "0099"))
    ds = DukeMTMCVidReID(root=str(root))
    assert ds.num_skipped == {"train": 0, "query": 0, "gallery": 1}
    assert len(ds.gallery) == 5


def test_an_empty_query_tracklet_is_an_error_naming_it(duke_video_dataset):
    root, spec = duke_video_dataset
    os.makedirs(os.path.join(spec["dataset_dir"], "query", "0002", "0099"))
    with pytest.raises(DatasetLayoutError,
                       match=r"query tracklet '.*query/0002/0099' has no frame; a query cannot be dropped"):
        DukeMTMCVidReID(root=str(root))


def test_bad_frame_name(duke_video_dataset):
    root, spec = duke_video_dataset
    path = os.path.join(spec["dataset_dir"], "query", "0002", "0001", "frame.jpg")
    write_frame(path, 2, 0)
    with pytest.raises(DatasetLayoutError, match=r"query/0002/0001/frame\.jpg': expected a frame named"):
        DukeMTMCVidReID(root=str(root))


def test_mixed_cameras_in_a_tracklet(duke_video_dataset):
    root, spec = duke_video_dataset
    pid, cam, names = spec["tracklets"]["query"][0]
    other = cam % 8 + 1
    write_frame(os.path.join(spec["dataset_dir"], "query", f"{pid:04d}", "0001",
                             f"{pid:04d}_C{other}_F9999_X1.jpg"), pid, 0)
    with pytest.raises(DatasetLayoutError, match=rf"query/{pid:04d}/0001': frames name \(pid, camera\)"):
        DukeMTMCVidReID(root=str(root))


def test_pid_folder_mismatch(duke_video_dataset):
    root, spec = duke_video_dataset
    d = os.path.join(spec["dataset_dir"], "train")
    os.rename(os.path.join(d, "0001"), os.path.join(d, "0008"))
    with pytest.raises(DatasetLayoutError, match=r"train/0008/0001': .*expected one camera and pid 8"):
        DukeMTMCVidReID(root=str(root))


def test_non_numeric_identity_folder(duke_video_dataset):
    root, spec = duke_video_dataset
    os.makedirs(os.path.join(spec["dataset_dir"], "gallery", "junk"))
    with pytest.raises(DatasetLayoutError, match=r"gallery/junk': expected identity folders"):
        DukeMTMCVidReID(root=str(root))


def test_missing_subset(duke_video_dataset):
    root, spec = duke_video_dataset
    os.rename(os.path.join(spec["dataset_dir"], "query"), os.path.join(spec["dataset_dir"], "q"))
    with pytest.raises(DatasetLayoutError, match=r"(?s)DukeMTMC-VideoReID/query' is not found\. Expected layout"):
        DukeMTMCVidReID(root=str(root))
