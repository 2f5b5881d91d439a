"""Keys that would fail late, hang or be ignored are refused before the run, by name."""
from ctl_plugin import engine
from ctl_plugin.config import ConfigError, build_cfg
from ctl_plugin.config_checks import check_config
from ctl_plugin.data import build_video_train_loader
from ctl_plugin.data.build import check_train_set

import pytest
import torch

from tests.test_train_net import parse

CTL = ["MODEL.META_ARCHITECTURE", "CTL", "KEYPOINTS.SOURCE", "cache", "MODEL.DEVICE", "cpu"]


@pytest.mark.parametrize("opts, message", [
    (["CTL.GCL.WINDOW", "4"], "CTL.GCL.WINDOW is 4; expected an odd number"),
    (["CTL.GCL.WINDOW", "-1"], "CTL.GCL.WINDOW is -1"),
    (["CTL.GCL.WINDOW", "99"], r"CTL.GCL.WINDOW is 99.*1 to VIDEO.TRAIN.SEQ_LEN = 6"),
    (["CTL.GCL.MODE", "frame", "VIDEO.TEST.SEQ_LEN", "8"], "VIDEO.TEST.SEQ_LEN is 8; the frame-level context"),
    (["CTL.GCL.MODE", "2d"], "CTL.GCL.MODE is '2d'"),
    (["CTL.GCL.NUM_LAYERS", "0"], "CTL.GCL.NUM_LAYERS is 0"),
    (["CTL.CROSS_SCALE.SCALES", "('s1', 's2')"], "CTL.CROSS_SCALE.SCALES"),
    (["CTL.CROSS_SCALE.NUM_LAYERS", "3"], "CTL.CROSS_SCALE.NUM_LAYERS is 3"),
    (["CTL.CROSS_SCALE.NUM_LAYERS", "2", "CTL.GCL.NUM_LAYERS", "1"], "CTL.CROSS_SCALE.NUM_LAYERS is 2"),
    (["CTL.CROSS_SCALE.ALPHA", "-0.5"], "CTL.CROSS_SCALE.ALPHA"),
    (["CTL.CROSS_SCALE.EMBED_DIM", "0"], "CTL.CROSS_SCALE.EMBED_DIM"),
    (["CTL.CROSS_SCALE.EMBEDDING_BN", "both"], "CTL.CROSS_SCALE.EMBEDDING_BN"),
    (["CTL.FUSION.INFERENCE_BRANCH", "p"], "CTL.FUSION.INFERENCE_BRANCH"),
    (["CTL.LOSSES.DIV_SCALE", "-1.0"], "CTL.LOSSES.DIV_SCALE"),
    (["CTL.FUSION.PART_TERM", "zero_bn", "CTL.FUSION.GATE_GAIN", "0.0"],
     "CTL.FUSION.GATE_GAIN is 0.0; expected a factor > 0"),
    (["CTL.FUSION.GATE_GAIN", "10.0"], r"CTL.FUSION.GATE_GAIN is 10.0; .*other than 1 only with a gated"),
    (["KEYPOINTS.SOURCE", "none"], "KEYPOINTS.SOURCE is 'none'; expected 'cache' or 'online'"),
    (["KEYPOINTS.SOURCE", "file"], "KEYPOINTS.SOURCE is 'file'"),
    (["KEYPOINTS.SIGMA", "0.0"], "KEYPOINTS.SIGMA"),
    (["KEYPOINTS.HEATMAP_NORM", "max"], "KEYPOINTS.HEATMAP_NORM"),
    (["KEYPOINTS.SOFTMAX_TEMPERATURE", "0.0"], "KEYPOINTS.SOFTMAX_TEMPERATURE"),
    (["KEYPOINTS.MMPOSE.INPUT_SIZE", "[256]"], "KEYPOINTS.MMPOSE.INPUT_SIZE"),
    (["KEYPOINTS.MMPOSE.BATCH_SIZE", "0"], "KEYPOINTS.MMPOSE.BATCH_SIZE"),
    (["KEYPOINTS.MEDIAPIPE.MIN_DETECTION_CONFIDENCE", "1.5"], "MIN_DETECTION_CONFIDENCE"),
    (["KEYPOINTS.EXTRACT.BACKEND", "openpose"], "KEYPOINTS.EXTRACT.BACKEND"),
    (["KEYPOINTS.EXTRACT.CHUNK_SIZE", "0"], "KEYPOINTS.EXTRACT.CHUNK_SIZE"),
    (["KEYPOINTS.EXTRACT.NUM_WORKERS", "-1"], "KEYPOINTS.EXTRACT.NUM_WORKERS"),
    (["VIDEO.TRAIN.SEQ_LEN", "0"], "VIDEO.TRAIN.SEQ_LEN"),
    (["VIDEO.TEST.SEQ_LEN", "0"], "VIDEO.TEST.SEQ_LEN"),
    (["VIDEO.TEST.MODE", "dense"], "VIDEO.TEST.MODE is 'dense'"),
    (["VIDEO.SPLIT", "-1"], "VIDEO.SPLIT"),
    (["VIDEO.TEST.NUM_WORKERS", "-2"], "VIDEO.TEST.NUM_WORKERS"),
    (["SOLVER.IMS_PER_BATCH", "30", "DATALOADER.SAMPLER_TRAIN", "NaiveIdentitySampler", "DATALOADER.NUM_INSTANCE", "4"],
     "SOLVER.IMS_PER_BATCH is 30; expected a multiple of DATALOADER.NUM_INSTANCE"),
    (["MODEL.DEVICE", "tpu"], "MODEL.DEVICE is 'tpu'"),
    (["DATALOADER.SAMPLER_TRAIN", "RandomSampler"], "DATALOADER.SAMPLER_TRAIN is 'RandomSampler'"),
])
def test_bad_values_name_their_key(opts, message):
    with pytest.raises(ConfigError, match=message):
        check_config(build_cfg(None, [*CTL, *opts]))


def test_the_defaults_and_the_shipped_configs_pass():
    check_config(build_cfg(None, CTL))
    check_config(build_cfg(None, ["MODEL.DEVICE", "cpu"]))


@pytest.mark.skipif(torch.cuda.is_available(), reason="a machine without CUDA")
def test_cuda_without_cuda_names_model_device():
    with pytest.raises(ConfigError, match="MODEL.DEVICE is 'cuda' but torch sees no CUDA device; set MODEL.DEVICE cpu"):
        check_config(build_cfg(None, [*CTL, "MODEL.DEVICE", "cuda"]))


def test_a_batch_the_training_set_cannot_fill():
    cfg = build_cfg(None, ["SOLVER.IMS_PER_BATCH", "16", "DATALOADER.NUM_INSTANCE", "4",
                           "DATALOADER.SAMPLER_TRAIN", "NaiveIdentitySampler"])
    with pytest.raises(ConfigError, match="IMS_PER_BATCH is 16 but .* has 10 training tracklets"):
        check_train_set(cfg, num_tracklets=10, num_identities=5)
    with pytest.raises(ConfigError, match="= 4 identities per batch, but .* has 3 training identities"):
        check_train_set(cfg, num_tracklets=40, num_identities=3)
    check_train_set(cfg, num_tracklets=40, num_identities=4)


def test_training_that_would_hang_or_divide_by_zero_is_refused_before_it_starts(mars_root):
    """The MARS fixture has 4 training ids and 8 tracklets: 8 ids x 1 would loop forever in
    fast-reid's sampler, a batch of 10 would make an epoch of 0 iterations."""
    with pytest.raises(ConfigError, match="= 8 identities per batch, but MARS has 4 training identities"):
        engine.main(parse(mars_root / "a", "DATALOADER.NUM_INSTANCE", "1"))
    with pytest.raises(ConfigError, match="IMS_PER_BATCH is 10 but MARS has 8 training tracklets"):
        engine.main(parse(mars_root / "b", "SOLVER.IMS_PER_BATCH", "10", "DATALOADER.SAMPLER_TRAIN", "TrainingSampler"))


def test_combineall_reaches_the_training_loader(mars_root):
    """DATASETS.COMBINEALL: train on train + query + gallery, as the loader sees it."""
    plain = build_video_train_loader(engine.setup(parse(mars_root / "a")))
    combined = build_video_train_loader(engine.setup(parse(mars_root / "b", "DATASETS.COMBINEALL", "True")))
    assert len(plain.dataset) == 8 and plain.dataset.num_classes == 4
    assert len(combined.dataset) == 20 and combined.dataset.num_classes == 4 + 3
