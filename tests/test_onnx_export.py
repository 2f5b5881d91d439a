"""ONNX export (ctl_plugin.deploy, tools/deploy/export_onnx.py): onnxruntime gives every video
model's PyTorch features, on clip counts and lengths other than the export's."""
import os

from ctl_plugin.config import ConfigError, build_cfg
from ctl_plugin.deploy import ClipEncoder, OnnxEncoder, example_inputs, export_onnx
from ctl_plugin.engine import VideoTrainer

import numpy as np
import pytest
import torch

from tests.test_tools import load_tool

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {  # (the demo's ImageNet MobileNetV2 gives every clip one feature at initialisation)
    "VideoBaseline": ("configs/Demo/Baseline_Synthetic.yml", []),
    "CTL": ("configs/Demo/CTL_Synthetic.yml", ["CTL.CROSS_SCALE.EMBED_DIM", 16]),
    "GRL": ("projects/GRL/configs/Base-GRL.yml", []),
    "STMN": ("projects/STMN/configs/Base-STMN.yml", []),
}
TINY = ["MODEL.DEVICE", "cpu", "MODEL.HEADS.NUM_CLASSES", 3, "MODEL.BACKBONE.NAME", "build_resnet_backbone",
        "MODEL.BACKBONE.DEPTH", "18x", "MODEL.BACKBONE.FEAT_DIM", 512, "MODEL.BACKBONE.PRETRAIN", False,
        "INPUT.SIZE_TRAIN", [64, 32], "INPUT.SIZE_TEST", [64, 32]]


def tiny(name):
    config, keys = CONFIGS[name]
    return build_cfg(os.path.join(ROOT, config), [*TINY, *keys])


def as_if_trained(model, seed=0):
    """Random normalisation statistics and affine terms, so that the features are not the
    near-constant ones of a fresh initialisation."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            if m.affine:
                m.weight.data.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.data.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return model.eval()


@pytest.mark.parametrize("name, frames_dynamic", [("VideoBaseline", True), ("CTL", True), ("GRL", False),
                                                  ("STMN", False)])
def test_onnxruntime_gives_the_pytorch_features(tmp_path, name, frames_dynamic):
    cfg = tiny(name)
    model = as_if_trained(VideoTrainer.build_model(cfg))
    path = str(tmp_path / f"{name}.onnx")
    shapes = export_onnx(cfg, model, path)
    h, w = cfg.INPUT.SIZE_TEST
    t = "frames" if frames_dynamic else cfg.VIDEO.TEST.SEQ_LEN
    assert shapes["clips"] == ["clips", t, 3, h, w]
    assert ("keypoints" in shapes) == (name == "CTL")
    encoder = OnnxEncoder(path, threads=1)
    for clips, frames in ((5, cfg.VIDEO.TEST.SEQ_LEN), (2, cfg.VIDEO.TEST.SEQ_LEN + frames_dynamic)):
        inputs = example_inputs(cfg, clips, frames, seed=clips)
        with torch.no_grad():
            ours = ClipEncoder(model)(*inputs).numpy()
        theirs = encoder(*inputs)
        assert theirs.shape == ours.shape == (clips, ours.shape[1])
        assert np.abs(ours).max() > 1e-2 and np.abs(ours[0] - ours[-1]).max() > 1e-3 * np.abs(ours).max()
        assert np.abs(theirs - ours).max() <= 1e-4 * np.abs(ours).max()


def test_the_clip_encoder_is_the_test_feature_of_one_clip():
    """What is exported is what evaluation computes: a tracklet of one clip gets its clip's feature."""
    cfg = tiny("CTL")
    model = as_if_trained(VideoTrainer.build_model(cfg))
    clips, keypoints = example_inputs(cfg, 3)
    with torch.no_grad():
        test = model({"images": clips, "keypoints": keypoints, "num_clips": torch.tensor([1, 1, 1])})
        exported = ClipEncoder(model)(clips, keypoints)
    assert torch.equal(test, exported)


def test_an_online_estimator_is_refused():
    cfg = tiny("CTL")
    cfg.KEYPOINTS.SOURCE = "online"
    with pytest.raises(ConfigError, match="KEYPOINTS.SOURCE is 'online': the key-point estimator is not exported"):
        example_inputs(cfg)


def test_the_tool_exports_trained_weights_and_checks_them(tmp_path, capsys):
    cfg = tiny("VideoBaseline")
    weights = str(tmp_path / "model.pth")
    torch.save({"model": as_if_trained(VideoTrainer.build_model(cfg)).state_dict()}, weights)
    tool = load_tool(os.path.join(ROOT, "tools", "deploy", "export_onnx.py"))
    config = os.path.join(ROOT, CONFIGS["VideoBaseline"][0])
    tool.main(["--config-file", config, "--output", str(tmp_path / "m.onnx"), *map(str, TINY),
               "MODEL.WEIGHTS", weights])
    out = capsys.readouterr().out
    assert "clips    clips x frames x 3 x 64 x 32" in out
    assert f"onnxruntime against PyTorch on 4 clips of {cfg.VIDEO.TEST.SEQ_LEN + 1} frames" in out  # one more
    with pytest.raises(SystemExit, match="above --tolerance 0.0"):  # a bar no float computation meets
        tool.main(["--config-file", config, "--output", str(tmp_path / "m.onnx"), "--tolerance", "0",
                   *map(str, TINY), "MODEL.WEIGHTS", weights])
