"""fast-reid's fine-tuning keys reach every layer a video model adds to its backbone:
SOLVER.HEADS_LR_FACTOR (on the optimizer's parameter groups) and the freeze warm-up
MODEL.FREEZE_LAYERS + SOLVER.FREEZE_ITERS (the backbone unchanged while frozen)."""
import os

from ctl_plugin.config import build_cfg
from ctl_plugin.data.synthetic import generate_synthetic_mars
from ctl_plugin.engine import VideoTrainer

import pytest
import torch
from fastreid.engine.hooks import HookBase

from tests.test_learning import BUDGET, METHODS, ROOT


def method_cfg(method, *opts):
    config, extra = METHODS[method]
    return build_cfg(os.path.join(ROOT, config), [*BUDGET, *extra, *opts])


def group_lr_of(optimizer, param):
    """The learning rate of the optimizer group whose (contiguous) buffer holds `param`."""
    start = param.data_ptr()
    for group in optimizer.param_groups:
        for buffer in group["params"]:
            lo = buffer.data_ptr()
            if lo <= start < lo + buffer.numel() * buffer.element_size():
                return group["lr"]
    raise AssertionError("parameter in no optimizer group")


@pytest.mark.parametrize("method", list(METHODS))
def test_heads_lr_factor_reaches_every_added_layer(method):
    cfg = method_cfg(method, "MODEL.HEADS.NUM_CLASSES", "4", "SOLVER.BASE_LR", "0.001",
                     "SOLVER.HEADS_LR_FACTOR", "10.0")
    model = VideoTrainer.build_model(cfg)
    optimizer, _ = VideoTrainer.build_optimizer(cfg, model)
    added = 0
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        in_backbone = name.startswith("backbone.")
        assert group_lr_of(optimizer, param) == pytest.approx(0.001 if in_backbone else 0.01), name
        added += not in_backbone
    assert added > 0
    # the model's parameters are the optimizer's: nothing is copied
    assert sum(p.numel() for g in optimizer.param_groups for p in g["params"]) == \
        sum(p.numel() for p in model.parameters() if p.requires_grad)


SMALL_BATCH = ["SOLVER.IMS_PER_BATCH", "8", "DATALOADER.NUM_INSTANCE", "2", "VIDEO.TRAIN.SEQ_LEN", "4",
               "VIDEO.TEST.SEQ_LEN", "4"]


@pytest.fixture(scope="module")
def tiny_synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-synthetic")
    generate_synthetic_mars(str(root), num_train_ids=6, num_test_ids=4, num_junk=0, num_distractors=4,
                            tracklet_length=(6, 8))
    return root


@pytest.mark.parametrize("method", list(METHODS))
def test_freeze_warm_up_keeps_the_backbone_unchanged(method, tiny_synthetic, tmp_path, monkeypatch):
    """Two epochs, the first frozen: after it the backbone (weights and BatchNorm statistics)
    is as it started while the added layers moved; after the second it moved too."""
    monkeypatch.setenv("FASTREID_DATASETS", str(tiny_synthetic))
    iters = len(VideoTrainer.build_train_loader(method_cfg(method, *SMALL_BATCH)).dataset) // 8  # an epoch
    assert iters >= 2
    cfg = method_cfg(method, *SMALL_BATCH, "SOLVER.MAX_EPOCH", "2", "SOLVER.STEPS", "[10]",
                     "MODEL.FREEZE_LAYERS", "['backbone']", "SOLVER.FREEZE_ITERS", str(iters),
                     "SOLVER.CHECKPOINT_PERIOD", "100", "TEST.EVAL_PERIOD", "100", "OUTPUT_DIR", str(tmp_path))
    cfg.freeze()
    trainer = VideoTrainer(cfg)
    states = [clone_state(trainer.model)]

    class AfterEachEpoch(HookBase):
        def after_epoch(self):
            states.append(clone_state(trainer.model))

    trainer.register_hooks([AfterEachEpoch()])
    trainer.train()
    floats = [k for k, v in states[0].items() if v.is_floating_point()]
    backbone = [k for k in floats if k.startswith("backbone.")]
    added = [k for k in floats if not k.startswith("backbone.")]
    for before, after, frozen in ((states[0], states[1], True), (states[1], states[2], False)):
        assert all(torch.equal(before[k], after[k]) for k in backbone) == frozen
        assert not all(torch.equal(before[k], after[k]) for k in added)


def clone_state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}
