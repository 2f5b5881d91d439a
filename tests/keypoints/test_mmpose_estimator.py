"""The frozen mmpose estimator (HRNet-W32 from mmpose's own config, random weights)."""
from ctl_plugin.config import build_cfg
from ctl_plugin.keypoints import build_online_estimator
from ctl_plugin.keypoints.heatmaps import normalize_heatmaps, render_heatmaps
from ctl_plugin.keypoints.mmpose_estimator import MmposeLoadError, decode_heatmaps

import numpy as np
import photos
import pytest
import torch


def make_cfg(checkpoint, input_size=(256, 128), unsafe=False):
    cfg = build_cfg()
    cfg.KEYPOINTS.MMPOSE.CHECKPOINT = str(checkpoint)
    cfg.KEYPOINTS.MMPOSE.INPUT_SIZE = list(input_size)
    cfg.KEYPOINTS.MMPOSE.ALLOW_UNSAFE_LOAD = unsafe
    cfg.KEYPOINTS.MMPOSE.BATCH_SIZE = 4
    return cfg


@pytest.fixture(scope="module")
def estimator():
    return build_online_estimator(make_cfg("random"))


@pytest.fixture(scope="module")
def clips():
    """[1, 2, 3, 256, 128] 0-255 RGB: two person crops of real photographs."""
    import cv2
    crops = [cv2.resize(c, (128, 256), interpolation=cv2.INTER_AREA) for c in photos.person_crops()[:2]]
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float().unsqueeze(0)


def test_hrnet_shapes_and_frozen(estimator, clips):
    assert estimator.name == "mmpose:td-hm_hrnet-w32_8xb64-210e_coco-256x192@256x128"
    assert type(estimator.pose_model.backbone).__name__ == "HRNet"
    assert estimator.model_heatmaps(clips[0]).shape == (2, 17, 64, 32)
    parent = torch.nn.Sequential(estimator)
    parent.train()
    assert not estimator.training and not any(m.training for m in estimator.modules())
    assert not any(p.requires_grad for p in estimator.parameters())
    inputs = clips.clone().requires_grad_(True)
    heatmaps = estimator(inputs, feature_size=(16, 8))
    assert heatmaps.shape == (1, 2, 17, 16, 8)
    assert not heatmaps.requires_grad
    assert torch.isfinite(heatmaps).all()


def test_own_normalisation(estimator, clips):
    """forward normalises 0-255 RGB by mmpose's mean/std itself."""
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    frames = clips[0]
    direct = estimator.pose_model((frames - mean) / std, None, mode="tensor")
    torch.testing.assert_close(estimator.model_heatmaps(frames), direct)


def test_channels_last_layout_keeps_heatmaps(estimator, clips):
    """The pose model runs channels-last; its heat-maps are the contiguous-layout model's
    up to float rounding."""
    import copy

    assert estimator.pose_model.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    contiguous = copy.deepcopy(estimator.pose_model).to(memory_format=torch.contiguous_format)
    assert contiguous.backbone.conv1.weight.is_contiguous()
    frames = clips[0]
    reference = contiguous((frames - estimator.mean) / estimator.std, None, mode="tensor")
    torch.testing.assert_close(estimator.model_heatmaps(frames), reference, rtol=1e-4, atol=1e-5)


def test_max_pooled_to_feature_map(estimator, clips):
    fine = estimator.model_heatmaps(clips[0])  # [2, 17, 64, 32]
    pooled = estimator(clips, feature_size=(16, 8))[0]
    naive = torch.empty(2, 17, 16, 8)
    for i in range(16):
        for j in range(8):
            naive[:, :, i, j] = fine[:, :, 4 * i:4 * i + 4, 4 * j:4 * j + 4].amax(dim=(-2, -1))
    torch.testing.assert_close(pooled, naive)


def test_decode_heatmaps_against_loops():
    torch.manual_seed(0)
    heatmaps = torch.rand(2, 17, 8, 4) * 1.5 - 0.25
    sizes = torch.tensor([[64.0, 32.0], [80.0, 36.0]])
    out = decode_heatmaps(heatmaps, sizes)
    for n in range(2):
        for k in range(17):
            m = heatmaps[n, k]
            i, j = divmod(int(m.argmax()), 4)
            expected = [j * float(sizes[n, 1]) / 4, i * float(sizes[n, 0]) / 8, min(max(float(m.max()), 0), 1)]
            assert out[n, k].tolist() == pytest.approx(expected)


def test_online_and_rendered_heatmaps_share_argmax_cells(estimator, clips):
    """Key-points decoded offline, rendered by `render_heatmaps`, peak in the same
    feature cell as the online heat-maps."""
    online = estimator(clips, feature_size=(16, 8))[0]  # [2, 17, 16, 8]
    frames = [f.permute(1, 2, 0).numpy().astype(np.uint8) for f in clips[0]]
    keypoints = torch.from_numpy(estimator.estimate(frames))
    keypoints[..., 2] = 1.0  # the geometry, whatever the random peak's height
    rendered = render_heatmaps(keypoints, image_size=(256, 128), feature_size=(16, 8), sigma=1.0)
    assert torch.equal(online.flatten(2).argmax(-1), rendered.flatten(2).argmax(-1))
    assert torch.isfinite(normalize_heatmaps(online)).all()


def test_checkpoint_round_trip(estimator, clips, tmp_path):
    path = tmp_path / "hrnet.pth"
    torch.save({"state_dict": estimator.pose_model.state_dict()}, path)
    loaded = build_online_estimator(make_cfg(path))
    assert torch.equal(loaded(clips, (16, 8)), estimator(clips, (16, 8)))
    assert len(loaded.weights_sha256) == 64 and estimator.weights_sha256 == "random"


def test_unsafe_checkpoint_needs_the_flag(estimator, clips, tmp_path):
    path = tmp_path / "mmpose_style.pth"
    torch.save({"state_dict": estimator.pose_model.state_dict(),
                "meta": {"dataset_meta": {"sigmas": np.ones(17)}}}, path)
    with pytest.raises(MmposeLoadError, match="ALLOW_UNSAFE_LOAD"):
        build_online_estimator(make_cfg(path))
    loaded = build_online_estimator(make_cfg(path, unsafe=True))
    assert torch.equal(loaded.model_heatmaps(clips[0]), estimator.model_heatmaps(clips[0]))


def test_bad_config_and_checkpoint_are_named(tmp_path):
    with pytest.raises(MmposeLoadError, match="CHECKPOINT is empty"):
        build_online_estimator(make_cfg(""))
    with pytest.raises(MmposeLoadError, match="no_such.pth' is not found"):
        build_online_estimator(make_cfg(tmp_path / "no_such.pth"))
    cfg = make_cfg("random")
    cfg.KEYPOINTS.MMPOSE.CONFIG = "td-hm_no-such-model"
    with pytest.raises(MmposeLoadError, match="td-hm_no-such-model"):
        build_online_estimator(cfg)
    wrong = tmp_path / "wrong.pth"
    torch.save({"backbone.conv1.weight": torch.zeros(1)}, wrong)
    with pytest.raises(MmposeLoadError, match="does not fit"):
        build_online_estimator(make_cfg(wrong))
