"""Real photographs of people that ship inside installed packages, and a tiny
video dataset of frames cut from them (registered as `TinyKeypointVideo`)."""
import importlib.util
import os

from ctl_plugin.data.datasets.bases import VideoDataset
from ctl_plugin.data.tracklets import FrameList, FrameSpan

import cv2
import numpy as np
from fastreid.data.datasets import DATASET_REGISTRY


def grace_hopper():
    from matplotlib.cbook import get_sample_data
    return _rgb(get_sample_data("grace_hopper.jpg", asfileobj=False))


def astronaut():
    from skimage import data
    return np.ascontiguousarray(data.astronaut())


def bus():
    """810 x 1080 street photo with two full-body people; the package is never imported."""
    root = importlib.util.find_spec("ultralytics").submodule_search_locations[0]
    return _rgb(os.path.join(root, "assets", "bus.jpg"))


def _rgb(path):
    return cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)


def person_crops():
    """Person-sized crops (x0, y0, x1, y1 boxes around people) of the photographs."""
    b = bus()
    return [b[380:910, 20:260], b[370:890, 200:370], b[390:880, 640:810],
            astronaut()[0:512, 80:400], grace_hopper()[0:600, 20:500]]


def write_frames(root, count, size_hw=(64, 32)):
    """`count` frames (crops resized to `size_hw`, sizes alternating with their
    transpose-ish variant) under root/TinyKeypointVideo/frames; returns relative paths."""
    folder = os.path.join(root, TinyKeypointVideo.dataset_dir, "frames")
    os.makedirs(folder, exist_ok=True)
    crops = person_crops()
    relpaths = []
    for i in range(count):
        h, w = size_hw if i % 2 == 0 else (size_hw[0] + 8, size_hw[1] + 4)
        image = cv2.resize(crops[i % len(crops)], (w, h), interpolation=cv2.INTER_AREA)
        rel = os.path.join("frames", f"{i:04d}.png")
        cv2.imwrite(os.path.join(root, TinyKeypointVideo.dataset_dir, rel), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        relpaths.append(rel)
    return relpaths


NUM_TRAIN, NUM_TEST = 14, 6


class TinyKeypointVideo(VideoDataset):
    """Two frame lists ('train' of NUM_TRAIN frames, 'test' of NUM_TEST) of the
    frames `write_frames(root, NUM_TRAIN + NUM_TEST)` wrote; tracklets of 3 frames."""
    dataset_dir = "TinyKeypointVideo"
    dataset_name = "tinykpvideo"

    def __init__(self, root="datasets", split_id=0, **kwargs):
        base = os.path.join(root, self.dataset_dir)
        names = sorted(os.listdir(os.path.join(base, "frames")))
        rel = [os.path.join("frames", n) for n in names]
        train_frames = FrameList("train", base, rel[:NUM_TRAIN])
        test_frames = FrameList("test", base, rel[NUM_TRAIN:NUM_TRAIN + NUM_TEST])
        train = [(FrameSpan(train_frames, s, s + 3), f"{self.dataset_name}_{s // 6}", f"{self.dataset_name}_0")
                 for s in range(0, NUM_TRAIN - 2, 3)]
        query = [(FrameSpan(test_frames, 0, 3), 0, 0)]
        gallery = [(FrameSpan(test_frames, 3, 6), 0, 1)]
        super().__init__(train, query, gallery, frame_lists={"train": train_frames, "test": test_frames},
                         **kwargs)


if "TinyKeypointVideo" not in DATASET_REGISTRY._obj_map:
    DATASET_REGISTRY.register(TinyKeypointVideo)
