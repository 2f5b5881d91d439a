"""Key-points estimated on a context crop, mapped into the person's re-ID crop, and the
split's cache made from them."""
from ctl_plugin.data.datasets.video_folder import VideoFolder
from ctl_plugin.keypoints.cache import KeypointCache
from ctl_plugin.tracking import IouTracker, write_tracklets
from ctl_plugin.tracking.context_keypoints import ContextKeypoints, context_box, write_split_cache
from ctl_plugin.tracking.tracklet_writer import read_crop_keypoints

import numpy as np


class Corners:
    """Key-point 0 at the image's centre, 1 at its top-left corner, 2 at its bottom-right;
    the others not found. Records the sizes of the images it gets."""
    name, weights_sha256 = "corners", ""

    def __init__(self):
        self.sizes = []

    def estimate(self, frames):
        out = np.zeros((len(frames), 17, 3), np.float32)
        for i, frame in enumerate(frames):
            h, w = frame.shape[:2]
            self.sizes.append((h, w))
            out[i, :3] = [[w / 2, h / 2, 0.9], [0, 0, 0.8], [w, h, 0.7]]
        return out


def test_context_box_scales_about_the_centre():
    np.testing.assert_allclose(context_box([10, 20, 30, 60], 2.0), [0, 0, 40, 80])
    np.testing.assert_allclose(context_box([10, 20, 30, 60], (1.5, 1.0)), [5, 20, 35, 60])


def test_a_fixed_input_size_maps_back_the_same_way():
    frame = np.zeros((200, 300, 3), np.uint8)
    estimator = Corners()
    points = ContextKeypoints(estimator, (128, 64), (1.5, 1.0), input_size=(256, 128)).unclipped(
        frame, np.array([100, 40, 120, 100], np.float32))
    assert estimator.sizes == [(256, 128)]
    # the context is 30 x 60 around the box's centre: its corners lie a quarter box outside in x
    np.testing.assert_allclose(points[:3], [[32, 64, 0.9], [-16, 0, 0.8], [80, 128, 0.7]], atol=1e-4)


def test_keypoints_map_from_the_context_crop_into_the_re_id_crop():
    frame = np.zeros((200, 300, 3), np.uint8)
    box = np.array([100, 40, 120, 100], np.float32)  # 20 x 60, crop 128 x 64 (H, W)
    estimator = Corners()
    points = ContextKeypoints(estimator, (128, 64)).unclipped(frame, box)
    assert estimator.sizes == [(120, 40)]  # twice the box, at the frame's own resolution
    # the context's centre is the box's; its corners lie half a box outside the box
    np.testing.assert_allclose(points[:3], [[32, 64, 0.9], [-32, -64, 0.8], [96, 192, 0.7]], atol=1e-4)
    assert not points[3:].any()
    clipped = ContextKeypoints(estimator, (128, 64))(frame, box)
    np.testing.assert_allclose(clipped[:3, :2], [[32, 64], [0, 0], [63, 127]], atol=1e-4)


def test_the_split_cache_takes_the_csv_keypoints_and_estimates_the_rest(tmp_path):
    frames = [(i, np.full((120, 160, 3), 20 * i, np.uint8)) for i in range(6)]
    tracker = IouTracker(min_length=3)
    for f in range(6):
        tracker.update(f, [np.array([10 + f, 10, 30 + f, 70], np.float32)], [1.0])
    split = tmp_path / "video-folder" / "gallery"
    context = ContextKeypoints(Corners(), (32, 16))
    csv_path = write_tracklets(iter(frames), tracker.finish(), str(split), size=(32, 16), prefix="a_",
                               keypoints=context)
    assert open(csv_path).readline().strip().endswith("kp16_x,kp16_y,kp16_c")
    known = read_crop_keypoints(str(split))
    assert len(known) == 6 and np.allclose(known["0/0/a_0000/000002.jpg"][0], [8, 16, 0.9])
    # a tracklet added by hand, without a CSV: its frames are estimated on their crops
    extra = split / "1" / "0" / "b_0000"
    extra.mkdir(parents=True)
    for name in ("000000.jpg", "000001.jpg"):
        (extra / name).write_bytes((split / "0" / "0" / "a_0000" / "000000.jpg").read_bytes())
    frame_list = VideoFolder(root=str(tmp_path)).frame_lists["gallery"]
    path, no_pose = write_split_cache(frame_list, known, Corners(), str(tmp_path / "kp"), "VideoFolder")
    cache = KeypointCache.open(str(tmp_path / "kp"), "VideoFolder", frame_list, "corners")
    assert cache.path == path and no_pose == 0.0 and len(cache) == 8
    rows = {rel: cache.lookup([i])[0] for i, rel in enumerate(frame_list.relpaths)}
    assert np.allclose(rows["0/0/a_0000/000002.jpg"][0], [8, 16, 0.9])
    assert np.allclose(rows["1/0/b_0000/000001.jpg"][0], [8, 16, 0.9])  # centre of its own 32 x 16 crop


def test_no_keypoints_without_an_estimator(tmp_path):
    frames = [(0, np.zeros((50, 50, 3), np.uint8))]
    tracker = IouTracker(min_length=1)
    tracker.update(0, [np.array([5, 5, 15, 35], np.float32)], [1.0])
    split = tmp_path / "gallery"
    write_tracklets(iter(frames), tracker.finish(), str(split), size=(32, 16))
    assert read_crop_keypoints(str(split)) == {}
