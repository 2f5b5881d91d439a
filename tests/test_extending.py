"""docs/extending.md runs as written: its code blocks define a dataset, a backbone, a model
and a project node, which then train and build with the plugin's own machinery."""
import os
import re

from ctl_plugin.config import build_cfg
from ctl_plugin.data import build_video_train_loader, load_dataset
from ctl_plugin.keypoints.cache import write_cache

import numpy as np
import pytest
import torch
from fastreid.modeling.meta_arch import build_model
from fastreid.utils.events import EventStorage

from tests.fixtures.video_datasets import write_frame

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "extending.md")


@pytest.fixture(scope="module")
def doc():
    """The namespace of the page's python blocks, run in order (once: they register names)."""
    blocks = re.findall(r"```python\n(.*?)```", open(DOC).read(), flags=re.S)
    assert len(blocks) == 4
    namespace = {"__name__": "extending_doc"}
    for block in blocks:
        exec(compile(block, DOC, "exec"), namespace)
    return namespace


@pytest.fixture
def toy_root(doc, tmp_path, monkeypatch):
    """The documented layout: 4 training ids in 2 cameras, 2 test ids, and an empty tracklet."""
    d = tmp_path / "toy-video"
    for split, pids in (("train", (1, 2, 3, 4)), ("query", (7, 8)), ("gallery", (7, 8))):
        for pid in pids:
            cams = (0, 1) if split != "query" else (0,)
            for cam in cams:
                if split == "gallery" and cam == 0:
                    continue
                for t in range(2):
                    for i in range(4 + t):
                        write_frame(str(d / split / f"{pid}_{cam}_{t}" / f"{i:03d}.jpg"), pid, i)
    (d / "train" / "4_1_9").mkdir()
    monkeypatch.setenv("FASTREID_DATASETS", str(tmp_path))
    return tmp_path


def tiny_cfg(*opts):
    return build_cfg(None, ["MODEL.DEVICE", "cpu", "MODEL.BACKBONE.NAME", "build_tiny_cnn_backbone",
                            "MODEL.BACKBONE.FEAT_DIM", "64", "MODEL.BACKBONE.PRETRAIN", "False",
                            "MODEL.HEADS.NUM_CLASSES", "4", "INPUT.SIZE_TRAIN", "[64, 32]",
                            "INPUT.SIZE_TEST", "[64, 32]", "DATASETS.NAMES", "('ToyVideo',)",
                            "DATASETS.TESTS", "('ToyVideo',)", "DATALOADER.SAMPLER_TRAIN", "NaiveIdentitySampler",
                            "DATALOADER.NUM_INSTANCE", "2", "SOLVER.IMS_PER_BATCH", "8", "DATALOADER.NUM_WORKERS",
                            "0", "VIDEO.TRAIN.SEQ_LEN", "3", "VIDEO.TEST.SEQ_LEN", "3", "CTL.GCL.WINDOW", "3",
                            "CTL.CROSS_SCALE.EMBED_DIM", "8", "KEYPOINTS.CACHE_DIR", "", *opts])


def test_the_documented_dataset_loads_and_skips_its_empty_tracklet(toy_root):
    ds = load_dataset(tiny_cfg(), "ToyVideo")
    assert (len(ds.train), len(ds.query), len(ds.gallery)) == (16, 4, 4)
    assert ds.num_skipped == {"train": 1, "query": 0, "gallery": 0}
    assert ds.train[0][1:] == ("ToyVideo_1", "ToyVideo_0") and ds.query[0][1:] == (7, 0)


@pytest.mark.parametrize("model", ["VideoBaseline", "CTL", "PartPooling"])
def test_the_documented_backbone_and_model_train(toy_root, model):
    ds = load_dataset(tiny_cfg(), "ToyVideo")
    rng = np.random.default_rng(0)
    for frames in ds.frame_lists.values():  # key-points for CTL and PartPooling
        kps = np.concatenate([rng.random((len(frames), 17, 2)) * [16, 32], np.ones((len(frames), 17, 1))], -1)
        write_cache(str(toy_root / "keypoints"), "ToyVideo", frames, kps, "toy")
    cfg = tiny_cfg("MODEL.META_ARCHITECTURE", model, "KEYPOINTS.SOURCE",
                   "none" if model == "VideoBaseline" else "cache")
    batch = next(iter(build_video_train_loader(cfg)))
    net = build_model(cfg).train()
    with EventStorage():
        losses = net(batch)
        sum(losses.values()).backward()
    assert losses and all(torch.isfinite(v) and v > 0 for v in losses.values())
    assert all(p.grad is not None for n, p in net.named_parameters() if n.startswith("backbone."))
    net.eval()
    with torch.no_grad():
        feats = net({"images": batch["images"][:2], "keypoints": batch["keypoints"][:2]} if "keypoints" in batch
                    else {"images": batch["images"][:2]})
    assert feats.shape == (2, 64)


def test_the_documented_project_node_joins_every_cfg(doc):
    cfg = build_cfg(None, ["TOY.LOSS_WEIGHT", "0.5"])
    assert cfg.TOY.LOSS_WEIGHT == 0.5 and cfg.GRL.ATTENTION_DIM == 512
