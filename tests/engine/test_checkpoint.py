"""Checkpoints: strict restores, weights-only reads, atomic writes, and a checkpoint on disk
before the evaluation that follows it."""
import os
import pickle

from ctl_plugin import engine
from ctl_plugin.config import ConfigError, build_cfg
from ctl_plugin.engine.checkpoint import (
    CheckpointMismatchError,
    CheckpointWriteError,
    VideoCheckpointer,
    load_model_weights,
)

import pytest
import torch

from tests.test_train_net import parse

CTL = ["MODEL.META_ARCHITECTURE", "CTL", "MODEL.BACKBONE.NAME", "build_resnet_backbone",
       "MODEL.BACKBONE.LAST_STRIDE", "1", "KEYPOINTS.SOURCE", "online", "KEYPOINTS.MMPOSE.CHECKPOINT", "random",
       "KEYPOINTS.MMPOSE.INPUT_SIZE", "[64, 32]", "CTL.CROSS_SCALE.EMBED_DIM", "8"]



def tiny(*opts):
    return build_cfg(None, ["MODEL.META_ARCHITECTURE", "VideoBaseline", "MODEL.DEVICE", "cpu",
                            "MODEL.BACKBONE.DEPTH", "18x", "MODEL.BACKBONE.FEAT_DIM", "512",
                            "MODEL.BACKBONE.PRETRAIN", "False", "MODEL.HEADS.NUM_CLASSES", "4",
                            "INPUT.SIZE_TRAIN", "[64, 32]", "INPUT.SIZE_TEST", "[64, 32]", *opts])


def test_eval_only_without_weights_is_an_error(mars_root):
    args = parse(mars_root / "out")
    args.eval_only = True
    with pytest.raises(ConfigError, match="MODEL.WEIGHTS is empty"):
        engine.main(args)
    # tools/query.py and tools/visualize.py build their model through build_test_model
    with pytest.raises(ConfigError, match="MODEL.WEIGHTS is empty and MODEL.BACKBONE.PRETRAIN is False"):
        engine.build_test_model(tiny())


def test_a_checkpoint_of_another_model_is_refused_with_its_keys(tmp_path):
    path = tmp_path / "baseline.pth"
    torch.save({"model": engine.VideoTrainer.build_model(tiny()).state_dict()}, path)
    ctl = engine.VideoTrainer.build_model(tiny(*CTL))
    with pytest.raises(CheckpointMismatchError,
                       match=r"does not fit CTL: \d+ missing: heads\.g\.weight.*graph\.layers"
                             r".*unexpected: heads\.weight"):
        load_model_weights(ctl, tiny(*CTL, "MODEL.WEIGHTS", str(path)))
    before = {k: v.clone() for k, v in ctl.state_dict().items()}
    load_model_weights(ctl, tiny(*CTL, "MODEL.WEIGHTS", str(path), "MODEL.WEIGHTS_STRICT", "False"))
    backbone = [k for k in before if k.startswith("backbone.") and before[k].is_floating_point()]
    assert all(torch.equal(ctl.state_dict()[k], torch.load(path, weights_only=True)["model"][k]) for k in backbone)


def test_evaluation_model_takes_the_checkpoints_number_of_ids(tmp_path):
    trained = engine.VideoTrainer.build_model(tiny())
    path = tmp_path / "m.pth"
    torch.save({"model": trained.state_dict()}, path)
    fresh = engine.VideoTrainer.build_model(tiny("MODEL.HEADS.NUM_CLASSES", "0"))
    load_model_weights(fresh, tiny("MODEL.WEIGHTS", str(path)))
    assert torch.equal(fresh.heads.weight, trained.heads.weight)


class Payload:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_checkpoints_and_pretrained_weights_are_read_as_weights_only(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # torch's default would now unpickle
    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "evil.pth"
    with open(evil, "wb") as f:
        pickle.dump({"model": Payload()}, f)
    model = engine.VideoTrainer.build_model(tiny())
    with pytest.raises(CheckpointMismatchError, match="weights-only"):
        load_model_weights(model, tiny("MODEL.WEIGHTS", str(evil)))
    with pytest.raises(ConfigError, match="PRETRAIN_PATH .*weights only"):
        engine.VideoTrainer.build_model(tiny("MODEL.BACKBONE.PRETRAIN", "True",
                                             "MODEL.BACKBONE.PRETRAIN_PATH", str(evil)))
    assert not (tmp_path / "pwned").exists()


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model = torch.nn.Linear(2, 2)
    ckpt = VideoCheckpointer(model, str(tmp_path))
    ckpt.save("model_final")
    good = (tmp_path / "model_final.pth").read_bytes()

    def dies(obj, f):
        with open(f, "wb") as out:
            out.write(b"half a checkpoint")
        raise KeyboardInterrupt
    monkeypatch.setattr(torch, "save", dies)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save("model_final")
    assert (tmp_path / "model_final.pth").read_bytes() == good
    assert sorted(os.listdir(tmp_path)) == ["last_checkpoint", "model_final.pth"]  # no temporary left


@pytest.mark.parametrize("failure", [
    RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0"),  # torch, disk full
    OSError(28, "No space left on device"),
    PermissionError(13, "Permission denied"),
])
def test_a_failed_write_names_the_file_and_the_error(tmp_path, monkeypatch, failure):
    model = torch.nn.Linear(2, 2)
    ckpt = VideoCheckpointer(model, str(tmp_path))
    ckpt.save("model_0004")
    good = (tmp_path / "model_0004.pth").read_bytes()

    def fails(obj, f):
        raise failure
    monkeypatch.setattr(torch, "save", fails)
    with pytest.raises(CheckpointWriteError, match=r"writing '.*model_0009\.pth' failed \(\w+Error: .*\); "
                                                   r"\d+ MiB free on its file system"):
        ckpt.save("model_0009")
    assert (tmp_path / "model_0004.pth").read_bytes() == good
    assert (tmp_path / "last_checkpoint").read_text() == "model_0004.pth"
    assert sorted(os.listdir(tmp_path)) == ["last_checkpoint", "model_0004.pth"]


def test_a_failing_final_evaluation_leaves_the_checkpoint(mars_root, monkeypatch):
    def broken_test(cls, cfg, model):
        raise IOError("cannot read frame 'gallery/0001.jpg'")
    monkeypatch.setattr(engine.VideoTrainer, "test", classmethod(broken_test))
    out = mars_root / "out"
    with pytest.raises(IOError, match="cannot read frame"):
        engine.main(parse(out, "SOLVER.MAX_EPOCH", "2", "SOLVER.CHECKPOINT_PERIOD", "2", "TEST.EVAL_PERIOD", "2"))
    state = torch.load(out / "model_final.pth", weights_only=True)
    assert state["epoch"] == 1 and "rng_states" in state and state["seed"] == 0
    assert (out / "last_checkpoint").read_text() == "model_final.pth"


def test_model_best_links_the_checkpoint_of_the_best_evaluated_epoch(tmp_path):
    from types import SimpleNamespace

    from ctl_plugin.engine.hooks import BestCheckpoint, EpochCheckpointer

    from fastreid.utils.events import EventStorage

    ckpt = VideoCheckpointer(torch.nn.Linear(2, 2), str(tmp_path))
    trainer = SimpleNamespace(epoch=0)
    epochs = EpochCheckpointer(ckpt, period=1, max_epoch=5)
    best = BestCheckpoint(ckpt, epochs)
    epochs.trainer = best.trainer = trainer
    with EventStorage() as storage:
        for epoch, metric in enumerate([50.0, 70.0, 60.0, 80.0, 80.0]):
            trainer.epoch = storage.iter = epoch
            epochs.after_epoch()
            storage.put_scalar("metric", metric, smoothing_hint=False)
            best.after_epoch()
            expected = {0: 0, 1: 1, 2: 1, 3: 3, 4: 3}[epoch]
            assert os.path.samefile(tmp_path / "model_best.pth", epochs.saved[expected])
    assert torch.load(tmp_path / "model_best.pth", weights_only=True)["epoch"] == 3
