"""VideoFolder: tracklets from a folder tree, and clear errors on malformed trees."""
from ctl_plugin.data.datasets import DatasetLayoutError
from ctl_plugin.data.datasets.video_folder import VideoFolder

import pytest

from tests.fixtures.video_datasets import write_frame


def tracklet(root, split, pid, cam, name, n):
    for i in range(n):
        write_frame(str(root / "video-folder" / split / str(pid) / str(cam) / name / f"{i:03d}.jpg"), pid, i)


def test_reads_splits_in_order(tmp_path):
    tracklet(tmp_path, "train", 3, 1, "a", 3)
    tracklet(tmp_path, "train", 3, 2, "b", 2)
    tracklet(tmp_path, "query", 5, 0, "q", 4)
    tracklet(tmp_path, "gallery", 5, 1, "g", 2)
    ds = VideoFolder(root=str(tmp_path))
    assert [(len(s), p, c) for s, p, c in ds.train] == [(3, "VideoFolder_3", "VideoFolder_1"),
                                                        (2, "VideoFolder_3", "VideoFolder_2")]
    assert [(len(s), p, c) for s, p, c in ds.query] == [(4, 5, 0)]
    assert [(len(s), p, c) for s, p, c in ds.gallery] == [(2, 5, 1)]
    assert ds.query[0][0].paths()[-1].endswith("q/003.jpg")


def test_frames_of_any_image_suffix_and_nothing_else(tmp_path):
    folder = tmp_path / "video-folder" / "query" / "5" / "0" / "q"
    for i, suffix in enumerate([".png", ".JPG", ".jpeg", ".bmp"]):
        write_frame(str(folder / f"{i:03d}{suffix}"), 5, i)
    (folder / "004.txt").write_text("not a frame")
    (folder / "notes.json").write_text("{}")
    ds = VideoFolder(root=str(tmp_path))
    span, pid, _ = ds.query[0]
    assert [p.rsplit("/", 1)[-1] for p in span.paths()] == ["000.png", "001.JPG", "002.jpeg", "003.bmp"]
    assert pid == 5


def test_missing_splits_are_empty(tmp_path):
    tracklet(tmp_path, "gallery", 1, 0, "g", 2)
    ds = VideoFolder(root=str(tmp_path))
    assert ds.train == [] and ds.query == [] and len(ds.gallery) == 1


@pytest.mark.parametrize("bad, message", [
    ("pid", r"train/x1'.*<pid> folder named by an integer"),
    ("cam", r"train/1/c2'.*<camid> folder named by an integer"),
    ("underscore", r"train/3_1'.*<pid> folder named by an integer"),  # int() reads 31
    ("space", r"train/1/ 1'.*<camid> folder named by an integer"),  # int() reads 1
    ("file", r"train/1/2/stray.txt'.*<tracklet> folder, found a file"),
])
def test_malformed_trees_name_the_path(tmp_path, bad, message):
    base = tmp_path / "video-folder" / "train"
    if bad == "pid":
        (base / "x1" / "2" / "t").mkdir(parents=True)
    elif bad == "cam":
        (base / "1" / "c2" / "t").mkdir(parents=True)
    elif bad == "underscore":
        (base / "3_1" / "2" / "t").mkdir(parents=True)
    elif bad == "space":
        (base / "1" / " 1" / "t").mkdir(parents=True)
    else:
        tracklet(tmp_path, "train", 1, 2, "t", 1)
        (base / "1" / "2" / "stray.txt").write_text("")
    with pytest.raises(DatasetLayoutError, match=message):
        VideoFolder(root=str(tmp_path))


def test_empty_tracklet_folders_are_skipped_and_counted(tmp_path):
    """The policy of every dataset: an empty tracklet is dropped and counted, not an error."""
    tracklet(tmp_path, "train", 1, 2, "t", 3)
    (tmp_path / "video-folder" / "train" / "1" / "2" / "empty").mkdir()
    tracklet(tmp_path, "gallery", 4, 1, "g", 2)
    (tmp_path / "video-folder" / "gallery" / "5" / "1" / "void").mkdir(parents=True)
    ds = VideoFolder(root=str(tmp_path))
    assert [len(span) for span, _, _ in ds.train] == [3] and [len(s) for s, _, _ in ds.gallery] == [2]
    assert ds.num_skipped == {"train": 1, "query": 0, "gallery": 1}


def test_an_empty_query_tracklet_is_an_error_naming_it(tmp_path):
    tracklet(tmp_path, "query", 1, 0, "q", 2)
    tracklet(tmp_path, "gallery", 1, 1, "g", 2)
    empty = tmp_path / "video-folder" / "query" / "2" / "0" / "void"
    empty.mkdir(parents=True)
    with pytest.raises(DatasetLayoutError, match=rf"query tracklet '{empty}' has no frame"):
        VideoFolder(root=str(tmp_path))


def test_a_tracklet_of_files_that_are_not_frames_is_an_error_naming_it(tmp_path):
    tracklet(tmp_path, "gallery", 1, 1, "g", 2)
    folder = tmp_path / "video-folder" / "gallery" / "1" / "1" / "h"
    folder.mkdir()
    (folder / "0001.tif").write_bytes(b"")
    with pytest.raises(DatasetLayoutError, match=rf"'{folder}' holds 1 files but no frame: expected "
                                                 rf"\('.jpg', '.jpeg', '.png', '.bmp'\) files, found e.g. '0001.tif'"):
        VideoFolder(root=str(tmp_path))


def test_no_training_tracklet_is_refused_naming_the_dataset(tmp_path, monkeypatch):
    from ctl_plugin.config import ConfigError, build_cfg
    from ctl_plugin.data.build import build_video_train_loader

    (tmp_path / "video-folder" / "train" / "1" / "2" / "empty").mkdir(parents=True)
    monkeypatch.setenv("FASTREID_DATASETS", str(tmp_path))
    cfg = build_cfg(None, ["DATASETS.NAMES", "('VideoFolder',)"])
    with pytest.raises(ConfigError, match=r"VideoFolder has no training tracklet with frames \(DATASETS.NAMES\)"):
        build_video_train_loader(cfg)


@pytest.mark.parametrize("case, message", [
    ("no query", r"VideoFolder has 0 query and 1 gallery tracklets with frames"),
    ("no match", r"none of its 1 query tracklets has a gallery tracklet of its identity from another camera"),
])
def test_a_test_split_that_cannot_be_evaluated_is_refused_before_inference(tmp_path, monkeypatch, case, message):
    from ctl_plugin.config import build_cfg
    from ctl_plugin.engine import VideoTrainer

    tracklet(tmp_path, "gallery", 1, 0, "g", 2)
    if case == "no match":
        tracklet(tmp_path, "query", 1, 0, "q", 2)  # same camera as its only gallery tracklet: junk
    # "no query": no query folder, an empty split
    monkeypatch.setenv("FASTREID_DATASETS", str(tmp_path))
    cfg = build_cfg(None, ["DATASETS.TESTS", "('VideoFolder',)"])
    with pytest.raises(ValueError, match=message):
        VideoTrainer.build_evaluator(cfg, "VideoFolder")
