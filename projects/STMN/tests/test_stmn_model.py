"""The STMN meta-architecture end to end on a tiny ResNet-18 at 64x32."""
import math
import shutil
from pathlib import Path

from ctl_plugin.config import ConfigError, build_cfg

import pytest
import torch
from fastreid.modeling.meta_arch import build_model
from fastreid.utils.events import EventStorage

from projects.STMN.stmn.spread_loss import memory_spread_loss

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
NUM_CLASSES, SEQ_LEN = 4, 4


def tiny_cfg(**overrides):
    cfg = build_cfg()
    cfg.MODEL.META_ARCHITECTURE = "STMN"
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.BACKBONE.PRETRAIN = False
    cfg.MODEL.BACKBONE.DEPTH = "18x"
    cfg.MODEL.BACKBONE.FEAT_DIM = 512
    cfg.MODEL.BACKBONE.LAST_STRIDE = 1
    cfg.MODEL.HEADS.NUM_CLASSES = NUM_CLASSES
    cfg.MODEL.HEADS.WITH_BNNECK = True
    cfg.MODEL.LOSSES.NAME = ("CrossEntropyLoss", "TripletLoss")
    cfg.MODEL.LOSSES.CE.EPSILON = 0.0
    cfg.MODEL.LOSSES.TRI.MARGIN = 0.0
    cfg.MODEL.LOSSES.TRI.HARD_MINING = True
    cfg.VIDEO.TRAIN.SEQ_LEN = cfg.VIDEO.TEST.SEQ_LEN = SEQ_LEN
    for key, value in overrides.items():
        node = cfg
        *path, leaf = key.split(".")
        for name in path:
            node = getattr(node, name)
        setattr(node, leaf, value)
    return cfg


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(tiny_cfg())


def clips(n):
    return torch.rand(n, SEQ_LEN, 3, 64, 32) * 255


def test_training_forward_returns_every_loss_and_trains_the_memories(model):
    model.train()
    targets = torch.tensor([0, 0, 1, 1])
    with EventStorage():
        losses = model({"images": clips(len(targets)), "targets": targets, "camids": torch.zeros(len(targets))})
    assert set(losses) == {f"loss_{kind}_{branch}" for kind in ("cls", "triplet", "spread")
                           for branch in ("spatial", "temporal")}
    for branch in ("spatial", "temporal"):
        # classifier weights of std 0.01 give near-uniform predictions at initialisation
        assert losses[f"loss_cls_{branch}"].item() == pytest.approx(math.log(NUM_CLASSES), abs=0.1)
        assert losses[f"loss_triplet_{branch}"].item() > 0
        assert 0 < losses[f"loss_spread_{branch}"].item() <= 0.3
    model.zero_grad()
    sum(losses.values()).backward()
    trained = {
        "spatial keys": model.spatial_memory.keys, "spatial read BN": model.spatial_memory.read_norm.weight,
        "temporal keys": model.temporal_memory.keys, "temporal values": model.temporal_memory.values,
        "temporal LSTM": model.temporal_memory.lstm.weight_ih_l0,
        "spatial-key branch": model.backbone.spatial_key_branch[0].conv1.weight,
        "temporal-key branch": model.backbone.temporal_key_branch[0].conv1.weight,
        "frame head": model.frame_head.weight, "sequence head": model.heads.weight,
    }
    for name, param in trained.items():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_spread_losses_are_those_of_the_addressing(model):
    model.train()
    targets = torch.tensor([0, 0, 1, 1])
    batch = {"images": clips(len(targets)), "targets": targets}
    with torch.no_grad(), EventStorage():
        images = model.preprocess_image(batch)
        outputs = model.video_head(model.frame_features(images), batch, targets)
        losses = model.losses(outputs, targets)
    assert outputs["spatial_addressing"].shape == (len(targets) * SEQ_LEN, 4, 2, 10)
    assert outputs["temporal_addressing"].shape == (len(targets), 5)
    for branch in ("spatial", "temporal"):
        expected = memory_spread_loss(outputs[f"{branch}_addressing"], 0.3)
        assert losses[f"loss_spread_{branch}"].item() == pytest.approx(expected.item())


def test_eval_returns_one_feature_per_tracklet(model):
    model.eval()
    images = clips(4)
    with torch.no_grad():
        pooled = model({"images": images, "num_clips": torch.tensor([1, 3])})
        single = model({"images": images})
    assert pooled.shape == (2, 512) and single.shape == (4, 512)
    assert torch.allclose(pooled[0], single[0], atol=1e-5)
    assert torch.allclose(pooled[1], single[1:].mean(0), atol=1e-5)
    assert not torch.allclose(single[1], single[2])


def test_key_branches_are_value_branch_copies_without_the_closing_relu(model):
    model.eval()
    with torch.no_grad():
        values, spatial_keys, temporal_keys = model.backbone((torch.rand(2, 3, 64, 32) * 255 - 128) / 64)
    assert values.shape == spatial_keys.shape == temporal_keys.shape == (2, 512, 4, 2)
    assert torch.allclose(spatial_keys.relu(), values, atol=1e-5)
    assert torch.allclose(temporal_keys, spatial_keys)
    assert (spatial_keys < 0).any()


def test_imagenet_mobilenetv2_is_branched_at_its_last_stage():
    cfg = tiny_cfg(**{"MODEL.BACKBONE.NAME": "build_torchvision_mobilenetv2_backbone",
                      "MODEL.BACKBONE.DEPTH": "1.0x", "MODEL.BACKBONE.PRETRAIN": True,
                      "MODEL.BACKBONE.PRETRAIN_PATH": "", "MODEL.BACKBONE.FEAT_DIM": 1280})
    backbone = build_model(cfg).backbone.eval()
    assert len(backbone.stem) == 14 and len(backbone.value_branch) == 5  # features.0-13, features.14-18
    for branch in (backbone.spatial_key_branch, backbone.temporal_key_branch):
        torch.testing.assert_close(branch[-1][0].weight, backbone.value_branch[-1][0].weight)
        assert branch[-1][0].weight.data_ptr() != backbone.value_branch[-1][0].weight.data_ptr()
    with torch.no_grad():
        values, spatial_keys, temporal_keys = backbone((torch.rand(2, 3, 64, 32) * 255 - 128) / 64)
    assert values.shape == spatial_keys.shape == (2, 1280, 4, 2)
    torch.testing.assert_close(spatial_keys.clamp(0, 6), values)  # the closing ReLU6 is gone
    torch.testing.assert_close(temporal_keys, spatial_keys)
    assert (spatial_keys < 0).any()
    cfg.STMN.STEM_RELU = False
    with pytest.raises(ConfigError, match="STMN.STEM_RELU False .* MobileNetV2 has no such stem"):
        build_model(cfg)
    cfg.STMN.STEM_RELU = True
    cfg.MODEL.BACKBONE.NAME = "build_osnet_backbone"
    cfg.MODEL.BACKBONE.DEPTH = "x0_25"
    cfg.MODEL.BACKBONE.FEAT_DIM = 128
    cfg.MODEL.BACKBONE.PRETRAIN = False
    with pytest.raises(TypeError, match="STMN needs a fast-reid ResNet .* or the plugin's MobileNetV2"):
        build_model(cfg)


@pytest.mark.parametrize("stem_relu", [True, False])
def test_stem_with_and_without_the_relu_after_bn1(stem_relu):
    """STMN.STEM_RELU False runs conv1 - bn1 - max-pool, as the official ResNet; True is fast-reid's
    stem. Same parameters (and state-dict keys) either way."""
    torch.manual_seed(0)
    model = build_model(tiny_cfg(**{"STMN.STEM_RELU": stem_relu})).eval()
    reference = build_model(tiny_cfg()).eval()
    assert model.state_dict().keys() == reference.state_dict().keys()
    stem = model.backbone.stem
    x = (torch.rand(2, 3, 64, 32) * 255 - 128) / 64
    with torch.no_grad():
        y = stem[1](stem[0](x))
        y = stem[3](y.relu() if stem_relu else y)
        for layer in stem[4:]:
            y = layer(y)
        torch.testing.assert_close(stem(x), y)
        with_relu = stem[4:](stem[3](stem[1](stem[0](x)).relu()))
    assert torch.equal(y, with_relu) == stem_relu


def test_addressing_weights_for_visualisation(model):
    model.eval()
    weights = model.addressing({"images": clips(2)})
    assert weights["spatial"].shape == (2, SEQ_LEN, 4, 2, 10)
    assert weights["temporal"].shape == (2, 5) and weights["attention"].shape == (2, SEQ_LEN)
    for name in ("spatial", "temporal", "attention"):
        assert torch.allclose(weights[name].sum(-1), torch.ones(weights[name].shape[:-1]), atol=1e-5), name


@pytest.mark.parametrize("key, value, message", [
    ("VIDEO.TEST.SEQ_LEN", 8, "VIDEO.TEST.SEQ_LEN must equal"),
    ("MODEL.HEADS.POOL_LAYER", "GeneralizedMeanPooling", "MODEL.HEADS.POOL_LAYER"),
    ("MODEL.BACKBONE.FEAT_DIM", 2048, "MODEL.BACKBONE.FEAT_DIM is 2048, but .* gives feature maps of 512 channels"),
])
def test_bad_config_is_named(key, value, message):
    with pytest.raises(ValueError, match=message):
        build_model(tiny_cfg(**{key: value}))


def test_non_local_blocks_are_refused():
    cfg = tiny_cfg(**{"MODEL.BACKBONE.WITH_NL": True, "MODEL.BACKBONE.DEPTH": "50x",
                      "MODEL.BACKBONE.FEAT_DIM": 2048})
    with pytest.raises(ValueError, match="MODEL.BACKBONE.WITH_NL"):
        build_model(cfg)


@pytest.mark.parametrize("name, dataset", [("MARS", "MARS"), ("DukeVideo", "DukeMTMCVidReID"),
                                           ("iLIDSVID", "iLIDSVID")])
def test_configs_carry_the_official_settings(tmp_path, name, dataset):
    project = tmp_path / "projects" / "STMN"
    shutil.copytree(CONFIGS, project / "configs")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "Base-Video.yml").write_text("MODEL:\n  META_ARCHITECTURE: VideoBaseline\n")
    cfg = tiny_cfg()
    cfg.merge_from_file(str(project / "configs" / f"STMN_{name}.yml"))
    assert cfg.MODEL.META_ARCHITECTURE == "STMN"
    assert cfg.DATASETS.NAMES == (dataset,) and cfg.DATASETS.TESTS == (dataset,)
    assert (cfg.STMN.SPATIAL_MEMORY.SIZE, cfg.STMN.TEMPORAL_MEMORY.SIZE) == (10, 5)
    assert (cfg.STMN.SPATIAL_MEMORY.MARGIN, cfg.STMN.TEMPORAL_MEMORY.MARGIN) == (0.3, 0.3)
    assert (cfg.SOLVER.OPT, cfg.SOLVER.BASE_LR, cfg.SOLVER.WEIGHT_DECAY) == ("Adam", 1e-4, 1e-5)
    assert (cfg.SOLVER.STEPS, cfg.SOLVER.GAMMA, cfg.SOLVER.MAX_EPOCH) == ([50, 100, 150], 0.1, 200)
    assert (cfg.SOLVER.IMS_PER_BATCH, cfg.DATALOADER.NUM_INSTANCE, cfg.VIDEO.TRAIN.SEQ_LEN) == (32, 4, 6)
    assert cfg.TEST.FLIP.ENABLED and cfg.VIDEO.TEST.MODE == "all" and cfg.VIDEO.TEST.SEQ_LEN == 6
    assert (cfg.MODEL.BACKBONE.DEPTH, cfg.MODEL.BACKBONE.LAST_STRIDE) == ("50x", 1)
