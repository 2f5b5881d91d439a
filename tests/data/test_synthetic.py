"""The synthetic MARS-layout set: layout, determinism, queries, ground-truth key-points."""
import json
import os
import re
import time

from ctl_plugin.data.synthetic import generate_synthetic_mars
from ctl_plugin.data.synthetic import walking_pose as wp
from ctl_plugin.data.synthetic.figure import make_outfits
from ctl_plugin.data.synthetic.mars_writer import savemat_v5
from ctl_plugin.data.synthetic.scene import make_camera_styles
from ctl_plugin.data.synthetic.tracklet import TrackletSpec, render_tracklet
from ctl_plugin.data.tracklets import FrameList
from ctl_plugin.keypoints.cache import KeypointCache

import cv2
import numpy as np
import pytest
import scipy.io

SIZES = dict(num_train_ids=6, num_test_ids=6, num_cameras=3, tracklet_length=(3, 12), num_junk=2,
             num_distractors=2, occlusion_rate=0.4, frame_size=(96, 48))
NAME = re.compile(r"^(00-1|\d{4})C([1-6])T(\d{4})F(\d{3})\.jpg$")


def _generate(root, seed):
    started = time.perf_counter()
    summary = generate_synthetic_mars(str(root), seed=seed, **SIZES)
    print(f"generated {summary.num_train_frames + summary.num_test_frames} frames "
          f"in {time.perf_counter() - started:.2f} s")
    return summary


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    summary = _generate(root, seed=3)
    info = os.path.join(summary.dataset_dir, "info")
    return dict(
        root=str(root), summary=summary, info=info,
        train_names=open(os.path.join(info, "train_name.txt")).read().splitlines(),
        test_names=open(os.path.join(info, "test_name.txt")).read().splitlines(),
        train=scipy.io.loadmat(os.path.join(info, "tracks_train_info.mat"))["track_train_info"],
        test=scipy.io.loadmat(os.path.join(info, "tracks_test_info.mat"))["track_test_info"],
        query=scipy.io.loadmat(os.path.join(info, "query_IDX.mat"))["query_IDX"])


def _pid(name):
    return -1 if name[:4] == "00-1" else int(name[:4])


def test_mat_files_have_the_mars_variables_and_dtypes(data):
    for table in (data["train"], data["test"]):
        assert table.dtype == np.int32 and table.ndim == 2 and table.shape[1] == 4
    assert data["query"].dtype == np.uint16 and data["query"].shape == (1, data["summary"].num_queries)
    assert len(data["train"]) == data["summary"].num_train_tracklets
    assert len(data["test"]) == data["summary"].num_test_tracklets
    with open(os.path.join(data["info"], "query_IDX.mat"), "rb") as f:
        assert f.read(10) == b"MATLAB 5.0"


@pytest.mark.parametrize("split", ["train", "test"])
def test_names_are_sorted_and_match_the_track_table(data, split):
    names, table = data[f"{split}_names"], data[split]
    assert names == sorted(names) and len(set(names)) == len(names)
    assert all(NAME.match(n) for n in names)
    assert table[0, 0] == 1 and table[-1, 1] == len(names)
    for row in range(len(table)):
        start, end, pid, cam = (int(v) for v in table[row])
        if row:
            assert start == table[row - 1, 1] + 1
        frames = names[start - 1:end]
        assert {n[:12] for n in frames} == {frames[0][:12]}, "one tracklet per row"
        assert [int(n[12:15]) for n in frames] == list(range(1, len(frames) + 1))
        assert all(_pid(n) == pid and int(n[5]) == cam for n in frames)
        assert SIZES["tracklet_length"][0] <= end - start + 1 <= SIZES["tracklet_length"][1]
    assert list(table[:, 2]) == sorted(table[:, 2])
    folder = os.path.join(data["summary"].dataset_dir, f"bbox_{split}")
    for n in names:
        assert os.path.isfile(os.path.join(folder, n[:4], n))
    image = cv2.imread(os.path.join(folder, names[-1][:4], names[-1]))
    assert image.shape == (*SIZES["frame_size"], 3)


def test_junk_first_then_distractors_then_disjoint_ids(data):
    train_pids, test_pids = data["train"][:, 2], data["test"][:, 2]
    assert (train_pids > 0).all()
    assert list(test_pids[:SIZES["num_junk"]]) == [-1] * SIZES["num_junk"]
    assert (test_pids == 0).sum() == SIZES["num_distractors"]
    assert len(set(train_pids)) == SIZES["num_train_ids"]
    assert len(set(test_pids[test_pids > 0])) == SIZES["num_test_ids"]
    assert not set(train_pids) & set(test_pids)
    assert os.path.isdir(os.path.join(data["summary"].dataset_dir, "bbox_test", "00-1"))
    assert os.path.isdir(os.path.join(data["summary"].dataset_dir, "bbox_test", "0000"))
    for table in (data["train"], data["test"]):
        for pid in set(table[:, 2]) - {-1, 0}:
            assert len(set(table[table[:, 2] == pid, 3])) >= 2, f"pid {pid} needs two cameras"


def test_every_query_has_a_cross_camera_positive_outside_the_queries(data):
    table, rows = data["test"], data["query"][0].astype(int) - 1
    assert rows.min() >= 0 and rows.max() < len(table) and len(set(rows)) == len(rows)
    per_pid = {}
    for r in rows:
        pid, cam = table[r, 2], table[r, 3]
        assert pid > 0
        per_pid.setdefault(pid, []).append(cam)
        positives = [g for g in range(len(table))
                     if g not in rows and table[g, 2] == pid and table[g, 3] != cam]
        assert positives, f"query row {r + 1} has no cross-camera positive"
    assert set(per_pid) == set(table[table[:, 2] > 0, 2])
    for cams in per_pid.values():
        assert len(cams) >= 2 and len(set(cams)) == len(cams)


def _tree(root):
    files = {}
    for folder, _, names in os.walk(root):
        for n in names:
            path = os.path.join(folder, n)
            with open(path, "rb") as f:
                files[os.path.relpath(path, root)] = f.read()
    return files


def test_same_seed_writes_the_same_bytes_and_another_seed_does_not(data, tmp_path):
    _generate(tmp_path / "again", seed=3)
    first, again = _tree(data["root"]), _tree(tmp_path / "again")
    assert first.keys() == again.keys()
    sidecars = [k for k in first if k.endswith(".json")]
    assert len(sidecars) == 2 and all(first[k] == again[k] for k in first if k not in sidecars)
    for k in sidecars:  # the same key-points of the same frame bytes; only the files' times differ
        a, b = json.loads(first[k]), json.loads(again[k])
        assert a.pop("files_stat_sha1") != b.pop("files_stat_sha1") and a == b
    generate_synthetic_mars(str(tmp_path / "other"), seed=4, **SIZES)
    other = _tree(tmp_path / "other")
    assert other["synthetic-mars/info/train_name.txt"] != first["synthetic-mars/info/train_name.txt"]


@pytest.mark.parametrize("split", ["train", "test"])
def test_keypoint_cache_opens_and_lies_on_the_figures(data, split):
    names = data[f"{split}_names"]
    frames = FrameList(f"bbox_{split}", os.path.join(data["root"], "synthetic-mars", f"bbox_{split}"),
                       [n[:4] + "/" + n for n in names])
    cache = KeypointCache.open(os.path.join(data["root"], "keypoints"), "SyntheticMARS", frames,
                               estimator="ground-truth")
    kp = cache.lookup(np.arange(len(names)))
    height, width = SIZES["frame_size"]
    assert (kp[..., 0] >= 0).all() and (kp[..., 0] <= width - 1).all()
    assert (kp[..., 1] >= 0).all() and (kp[..., 1] <= height - 1).all()
    assert set(np.unique(kp[..., 2])) <= {0.0, 0.5, 1.0}
    pids = np.array([_pid(n) for n in names])
    assert (kp[pids == 0] == 0).all(), "distractor frames have no key-points"
    person = kp[pids > 0]
    assert (person[..., 2] == 1).mean() > 0.6
    # nose above shoulders above hips above knees above ankles, where both are in the frame
    for upper, lower in ((0, 5), (0, 6), (5, 11), (6, 12), (11, 13), (12, 14), (13, 15), (14, 16)):
        both = (person[:, upper, 2] > 0) & (person[:, lower, 2] > 0)
        assert both.sum() > 0.5 * len(person)
        assert (person[both, upper, 1] < person[both, lower, 1]).all()


def test_visible_keypoints_are_drawn_and_occluded_ones_are_covered():
    rng = np.random.default_rng(0)
    styles = make_camera_styles(rng, 3)
    outfits = make_outfits(rng, 6)
    on_figure, covered = [], []
    for i, outfit in enumerate(outfits):
        spec = TrackletSpec("person", 10, seed=100 + i, outfit=outfit, occluded=i % 2 == 0)
        with_person, kp = render_tracklet(spec, styles[i % 3], (128, 64))
        without, kp_again = render_tracklet(spec, styles[i % 3], (128, 64), draw_person=False)
        assert np.array_equal(kp, kp_again)
        diff = np.abs(with_person.astype(int) - without.astype(int)).sum(-1)
        for t in range(spec.length):
            for x, y, c in kp[t]:
                d = diff[t, int(round(y)), int(round(x))]
                if c == 1:
                    on_figure.append(d)
                elif c == 0 and 2 <= x <= 61 and 2 <= y <= 125:
                    covered.append(d)
    on_figure, covered = np.array(on_figure), np.array(covered)
    assert len(on_figure) > 500 and len(covered) > 20
    assert (on_figure > 30).mean() > 0.9
    assert (covered == 0).mean() > 0.9


def test_walking_pose_keeps_limb_lengths_and_alternates_legs():
    for phase in np.linspace(0, 2 * np.pi, 13):
        kp = wp.body_keypoints(phase)
        for (a, b), length in (((11, 13), wp.THIGH), ((12, 14), wp.THIGH), ((13, 15), wp.SHANK),
                               ((14, 16), wp.SHANK)):
            assert np.isclose(np.linalg.norm(kp[a] - kp[b]), length)
    left_forward = wp.body_keypoints(np.pi / 2)
    assert left_forward[15, 2] > 0 > left_forward[16, 2]          # left ankle ahead of the right
    assert left_forward[10, 2] > left_forward[9, 2]               # right arm swings forward
    # facing the camera, the person's left is on the image right; walking right, it is far
    facing, walking_right = wp.to_world(left_forward, 0.0), wp.to_world(left_forward, np.pi / 2)
    assert facing[5, 0] > facing[6, 0]
    assert walking_right[5, 2] < 0 < walking_right[6, 2]
    xy, depth = wp.project(facing, 100.0, 32.0, 120.0)
    assert np.allclose(xy[:, 0], 32.0 + 100.0 * facing[:, 0]) and np.allclose(xy[:, 1], 120.0 - 100.0 * facing[:, 1])


def test_outfits_are_distinct_but_share_colours():
    outfits = make_outfits(np.random.default_rng(0), 32)
    assert len(set(outfits)) == 32
    colour_sets = [frozenset((o.shirt, o.trousers)) for o in outfits]
    assert len(set(colour_sets)) < len(colour_sets), "some ids differ only in where colours are worn"


def test_bad_arguments_and_existing_output_are_refused(tmp_path):
    with pytest.raises(ValueError, match="num_cameras"):
        generate_synthetic_mars(str(tmp_path), num_cameras=7)
    with pytest.raises(ValueError, match="tracklet_length"):
        generate_synthetic_mars(str(tmp_path), tracklet_length=(5, 1000))
    os.makedirs(tmp_path / "synthetic-mars")
    with pytest.raises(FileExistsError, match="synthetic-mars"):
        generate_synthetic_mars(str(tmp_path))


def test_savemat_v5_round_trips(tmp_path):
    table = np.arange(12, dtype=np.int32).reshape(3, 4)
    savemat_v5(str(tmp_path / "t.mat"), "track_train_info", table)
    loaded = scipy.io.loadmat(str(tmp_path / "t.mat"))["track_train_info"]
    assert loaded.dtype == np.int32 and np.array_equal(loaded, table)


def test_cli_writes_the_set_and_a_keypoint_montage(tmp_path):
    import importlib.util
    path = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "make_synthetic.py")
    spec = importlib.util.spec_from_file_location("make_synthetic", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    preview = str(tmp_path / "preview.png")
    summary = tool.main(["--root", str(tmp_path), "--train-ids", "3", "--test-ids", "3", "--cameras", "2",
                         "--length", "4", "6", "--junk", "1", "--distractors", "1", "--height", "64",
                         "--width", "32", "--preview", preview, "--preview-split", "test",
                         "--preview-tracklets", "4", "--preview-frames", "3"])
    assert summary.num_queries == 6
    montage = cv2.imread(preview)
    assert montage.shape == (4 * 64 * 3, 3 * 32 * 3, 3)
    # rows: junk, distractor (no walker, so no visible key-point), two test ids
    from ctl_plugin.visualization.keypoints import confidence_colour
    r, g, b = confidence_colour(1.0)
    visible = (np.abs(montage.astype(int) - [b, g, r]).max(-1) < 8)
    rows = visible.reshape(4, -1).sum(1)
    assert rows[1] == 0 and rows[2] > 0 and rows[3] > 0
