"""BlazePose (weights inside the mediapipe wheel) on real photographs of people."""
from ctl_plugin.keypoints.heatmaps import normalize_heatmaps, render_heatmaps
from ctl_plugin.keypoints.mediapipe_estimator import MediapipePose
from ctl_plugin.keypoints.skeleton import NAMES

import numpy as np
import photos
import pytest

K = {name: i for i, name in enumerate(NAMES)}


@pytest.fixture(scope="module")
def pose():
    estimator = MediapipePose(min_detection_confidence=0.5)
    yield estimator
    estimator.close()


def visible(kp, *names, threshold=0.5):
    return all(kp[K[n], 2] > threshold for n in names)


def assert_frontal(kp):
    """The person faces the camera: their left side is on the image's right."""
    for left, right in (("left_shoulder", "right_shoulder"), ("left_eye", "right_eye"),
                        ("left_hip", "right_hip")):
        if visible(kp, left, right):
            assert kp[K[left], 0] > kp[K[right], 0], (left, right)


def assert_top_to_bottom(kp):
    """Nose above shoulders above hips above knees above ankles, where visible."""
    levels = [("nose",), ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
              ("left_knee", "right_knee"), ("left_ankle", "right_ankle")]
    seen = [[kp[K[n], 1] for n in level if visible(kp, n)] for level in levels]
    seen = [ys for ys in seen if ys]
    for upper, lower in zip(seen, seen[1:]):
        assert max(upper) < min(lower)
    return len(seen)


def test_full_body_on_bus(pose):
    image = photos.bus()
    kp = pose.estimate([image])[0]
    assert kp.shape == (17, 3)
    assert assert_top_to_bottom(kp) == 5  # every level of a full-body person is visible
    assert_frontal(kp)
    h, w = image.shape[:2]
    assert (kp[:, 0] >= 0).all() and (kp[:, 0] < w).all() and (kp[:, 1] >= 0).all() and (kp[:, 1] < h).all()
    assert kp[K["left_ankle"], 1] > 0.7 * h  # the feet are near the bottom of the photo


@pytest.mark.parametrize("photo", ["grace_hopper", "astronaut"])
def test_upper_body_portraits(pose, photo):
    image = getattr(photos, photo)()
    kp = pose.estimate([image])[0]
    assert visible(kp, "nose", "left_shoulder", "right_shoulder")
    assert assert_top_to_bottom(kp) >= 2
    assert_frontal(kp)
    nose_x = kp[K["nose"], 0]
    assert kp[K["right_shoulder"], 0] < nose_x < kp[K["left_shoulder"], 0]


def test_no_person_gives_zero_confidence_and_uniform_heatmaps(pose):
    blank = np.full((64, 32, 3), 127, np.uint8)
    kp = pose.estimate([blank, blank])
    assert kp.shape == (2, 17, 3) and not kp.any()
    import torch
    maps = normalize_heatmaps(render_heatmaps(torch.from_numpy(kp), (64, 32), (16, 8)))
    assert torch.isfinite(maps).all()
    torch.testing.assert_close(maps, torch.full_like(maps, 1 / 128))


def test_flip_augmentation_of_cached_keypoints_matches_keypoints_of_flipped_frames(pose):
    """The clip transform's flip moves cached key-points where the estimator finds them on
    the flipped frame (left/right swapped, x mirrored), within a few pixels."""
    from ctl_plugin.data.transforms import ClipTransform

    import torch

    image = photos.bus()
    h, w = image.shape[:2]
    kp = pose.estimate([image])[0]
    size = (256, 128)
    _, moved = ClipTransform(size, flip_prob=1.0)([image], kp[None])
    flipped = np.ascontiguousarray(image[:, ::-1])
    _, found = ClipTransform(size)([flipped], pose.estimate([flipped])[0][None])
    both = (moved[0, :, 2] > 0.5) & (found[0, :, 2] > 0.5)
    assert both.sum() >= 12
    error = (moved[0, both, :2] - found[0, both, :2]).norm(dim=-1)
    assert torch.median(error) < 3.0 and error.max() < 10.0, error
