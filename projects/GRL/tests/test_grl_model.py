from ctl_plugin.config import build_cfg

import pytest
import torch
from fastreid.modeling import build_model
from fastreid.utils.events import EventStorage

from projects.GRL.grl import GRL

T = 3
LOSSES = {"loss_frame_oim", "loss_video_oim", "loss_low_oim", "loss_verification", "loss_triplet"}


def tiny_cfg(num_classes=6):
    cfg = build_cfg()
    cfg.MODEL.META_ARCHITECTURE = "GRL"
    cfg.MODEL.HEADS.NAME = "GRLHead"
    cfg.MODEL.HEADS.NUM_CLASSES = num_classes
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.BACKBONE.PRETRAIN = False
    cfg.MODEL.BACKBONE.DEPTH = "18x"
    cfg.MODEL.BACKBONE.FEAT_DIM = 512
    cfg.MODEL.BACKBONE.LAST_STRIDE = 1
    cfg.GRL.ATTENTION_DIM = 32
    return cfg


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(tiny_cfg())


def clips(n, seed):
    return torch.rand(n, T, 3, 64, 32, generator=torch.Generator().manual_seed(seed)) * 255


def test_training_forward_gives_the_loss_dict_and_gradients_reach_everything(model):
    assert isinstance(model, GRL)
    model.train()
    batch = {"images": clips(4, 0), "targets": torch.tensor([4, 4, 1, 1]), "camids": torch.tensor([0, 1, 0, 1])}
    with EventStorage():
        losses = model(batch)
    assert set(losses) == LOSSES
    for name, value in losses.items():
        assert value.dim() == 0 and torch.isfinite(value) and value > 0, name
    # the OIM tables start at zero: uniform logits over the 6 identities
    torch.testing.assert_close(losses["loss_frame_oim"], torch.log(torch.tensor(6.0)))
    torch.testing.assert_close(losses["loss_low_oim"], torch.log(torch.tensor(6.0)))
    # ... then hold unit rows for the identities of the batch only
    for table in (model.oim_high.lut, model.oim_low.lut):
        norms = table.norm(dim=1)
        torch.testing.assert_close(norms[[1, 4]], torch.ones(2))
        assert norms[[0, 2, 3, 5]].abs().max() == 0
    # with filled tables every parameter receives a gradient
    model.zero_grad()
    batch["images"] = clips(4, 1)
    with EventStorage():
        losses = model(batch)
    assert losses["loss_low_oim"] < torch.log(torch.tensor(6.0))
    sum(losses.values()).backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_test_forward_returns_one_official_feature_per_tracklet(model):
    model.eval()
    images = clips(3, 1)
    with torch.no_grad():
        pooled = model({"images": images, "num_clips": torch.tensor([2, 1])})
        per_clip = model({"images": images})
    assert pooled.shape == (2, 3 * 512) and per_clip.shape == (3, 3 * 512)
    torch.testing.assert_close(pooled[0], per_clip[:2].mean(dim=0))
    torch.testing.assert_close(pooled[1], per_clip[2])
    low, video, frame_mean = per_clip.split(512, dim=1)
    torch.testing.assert_close(low.norm(dim=1), torch.ones(3))
    torch.testing.assert_close(video.norm(dim=1), torch.ones(3))
    assert (frame_mean.norm(dim=1) <= 1 + 1e-6).all()
    # clips are independent at test: a clip's feature does not depend on its batch
    with torch.no_grad():
        alone = model({"images": images[2:]})
    torch.testing.assert_close(alone[0], per_clip[2], atol=1e-5, rtol=1e-4)


def test_bad_setups_are_named():
    cfg = tiny_cfg()
    cfg.MODEL.HEADS.NAME = "EmbeddingHead"
    with pytest.raises(ValueError, match="MODEL.HEADS.NAME 'GRLHead'"):
        build_model(cfg)
    cfg = tiny_cfg()
    cfg.MODEL.META_ARCHITECTURE = "VideoBaseline"
    with pytest.raises(ValueError, match="'GRLHead' .* only under MODEL.META_ARCHITECTURE 'GRL'"):
        build_model(cfg)
    model = build_model(tiny_cfg(num_classes=2))
    with EventStorage(), pytest.raises(ValueError, match="IMS_PER_BATCH must be even"):
        model({"images": clips(3, 2), "targets": torch.tensor([0, 0, 1])})
    with EventStorage(), pytest.raises(ValueError, match="MODEL.HEADS.NUM_CLASSES"):
        model({"images": clips(2, 2), "targets": torch.tensor([0, 5])})
    cfg = tiny_cfg()
    cfg.MODEL.BACKBONE.FEAT_DIM = 256
    with pytest.raises(ValueError, match="MODEL.BACKBONE.FEAT_DIM is 256, but .* gives feature maps of 512 channels"):
        build_model(cfg)
