"""The contract of docs/extending.md, on every video dataset the plugin registers, each
read from a fixture in its real on-disk layout."""
import os

from ctl_plugin.data.clip_dataset import ClipDataset
from ctl_plugin.data.datasets.bases import VideoDataset
from ctl_plugin.data.synthetic import generate_synthetic_mars
from ctl_plugin.data.tracklets import FrameSpan
from ctl_plugin.data.transforms import ClipTransform

import pytest
import torch
from fastreid.data.datasets import DATASET_REGISTRY

from tests.fixtures import video_datasets


def write_video_folder(root):
    for split, pid, cam in (("train", 1, 0), ("train", 1, 1), ("train", 2, 0), ("query", 5, 0), ("gallery", 5, 1)):
        for i in range(3):
            video_datasets.write_frame(os.path.join(root, "video-folder", split, str(pid), str(cam), "t", f"{i}.jpg"),
                                       pid, i)


FIXTURES = {
    "MARS": video_datasets.make_mars,
    "SyntheticMARS": lambda root: generate_synthetic_mars(root, num_train_ids=3, num_test_ids=3, num_cameras=2,
                                                          tracklet_length=(4, 6), num_junk=1, num_distractors=1),
    "iLIDSVID": video_datasets.make_ilidsvid,
    "PRID2011": video_datasets.make_prid2011,
    "DukeMTMCVidReID": video_datasets.make_duke_video,
    "LSVID": video_datasets.make_lsvid,
    "VideoFolder": write_video_folder,
}


def registered_video_datasets():
    """Every VideoDataset class of the plugin and its projects in fast-reid's registry."""
    found, stack = set(), [VideoDataset]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith(("ctl_plugin.", "projects.")):
                found.add(sub.__name__)
    return sorted(found)


def test_every_registered_video_dataset_has_a_fixture():
    names = registered_video_datasets()
    assert len(names) >= 7
    assert set(names) <= set(FIXTURES), f"no fixture in its real layout for {set(names) - set(FIXTURES)}"


@pytest.mark.parametrize("name", registered_video_datasets())
def test_dataset_contract(name, tmp_path):
    FIXTURES[name](str(tmp_path))
    cls = DATASET_REGISTRY.get(name)
    ds = cls(root=str(tmp_path))
    assert isinstance(ds, VideoDataset) and ds.dataset_name == name
    assert set(ds.num_skipped) == {"train", "query", "gallery"}
    assert ds.train and ds.query and ds.gallery
    lists = set(map(id, ds.frame_lists.values()))
    assert len({f.name for f in ds.frame_lists.values()}) == len(ds.frame_lists)
    for subset, items in (("train", ds.train), ("query", ds.query), ("gallery", ds.gallery)):
        for span, pid, camid in items:
            assert isinstance(span, FrameSpan) and len(span) >= 1 and id(span.frames) in lists
            assert os.path.isfile(span.path(0)) and os.path.isfile(span.path(len(span) - 1))
            if subset == "train":
                assert pid.startswith(f"{name}_") and camid.startswith(f"{name}_")
            else:
                assert isinstance(pid, int) and isinstance(camid, int)
    clip = ClipDataset(ds.train, ClipTransform((32, 16)), seq_len=4, relabel=True)[0]
    assert clip["images"].shape == (4, 3, 32, 16) and clip["images"].dtype == torch.float32
    assert 0 <= clip["targets"] < len({p for _, p, _ in ds.train})
