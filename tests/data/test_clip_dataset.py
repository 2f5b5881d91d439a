"""ClipDataset: clips with their cached key-points, and errors that name the file."""
import os

from ctl_plugin.data.clip_dataset import ClipDataset, clip_batch_collator
from ctl_plugin.data.datasets.mars import MARS
from ctl_plugin.data.transforms import ClipTransform
from ctl_plugin.keypoints.cache import KeypointCache, write_cache

import numpy as np
import pytest
import torch

from tests.fixtures import video_datasets


@pytest.fixture
def mars_with_cache(tmp_path):
    video_datasets.make_mars(str(tmp_path))
    data = MARS(root=str(tmp_path))
    caches = {}
    for fl in data.frame_lists.values():
        kps = np.zeros((len(fl), 17, 3), np.float32)
        kps[:, :, 0] = np.arange(len(fl))[:, None] % 16  # x encodes the frame's row in the list
        kps[:, :, 1] = np.arange(17)[None]
        kps[:, :, 2] = 1.0
        write_cache(str(tmp_path / "kp"), "MARS", fl, kps, "test")
        caches[fl] = KeypointCache.open(str(tmp_path / "kp"), "MARS", fl, "test")
    return data, caches


def test_train_clip_carries_the_keypoints_of_its_frames(mars_with_cache):
    data, caches = mars_with_cache
    ds = ClipDataset(data.train, ClipTransform((32, 16)), seq_len=4, keypoints=caches, relabel=True)
    torch.manual_seed(0)
    item = ds[0]
    span = data.train[0][0]
    assert item["images"].shape == (4, 3, 32, 16) and item["keypoints"].shape == (4, 17, 3)
    rows = item["keypoints"][:, 0, 0].round().long() % 16  # frame size equals input size
    assert set(rows.tolist()) <= {(span.start + i) % 16 for i in range(len(span))}


def test_test_items_collate_clips_and_keypoints(mars_with_cache):
    data, caches = mars_with_cache
    ds = ClipDataset(data.query + data.gallery, ClipTransform((32, 16)), seq_len=2, test_mode="all",
                     keypoints=caches)
    batch = clip_batch_collator([ds[0], ds[1]])
    n = batch["num_clips"]
    assert batch["images"].shape == (int(n.sum()), 2, 3, 32, 16)
    assert batch["keypoints"].shape == (int(n.sum()), 2, 17, 3)
    span = data.query[0][0]
    first = batch["keypoints"][0, :, 0, 0]
    assert first.tolist() == [float(span.start % 16), float((span.start + 1) % 16)]


def test_unreadable_frame_is_an_error_naming_the_file(mars_with_cache):
    data, _ = mars_with_cache
    span = data.train[0][0]
    with open(span.path(0), "wb") as f:
        f.write(b"not a jpeg")
    ds = ClipDataset([data.train[0]], ClipTransform((32, 16)), seq_len=len(span))
    with pytest.raises(IOError, match=os.path.basename(span.path(0))):
        ds[0]


def test_truncated_jpeg_is_an_error_naming_the_file(mars_with_cache):
    """libjpeg decodes a JPEG cut in half without an error (grey below the cut)."""
    data, _ = mars_with_cache
    span = data.train[0][0]
    with open(span.path(1), "rb") as f:
        whole = f.read()
    with open(span.path(1), "wb") as f:
        f.write(whole[:len(whole) // 2])
    ds = ClipDataset([data.train[0]], ClipTransform((32, 16)), seq_len=len(span))
    with pytest.raises(IOError, match=rf"{os.path.basename(span.path(1))}' is a truncated JPEG"):
        ds[0]
