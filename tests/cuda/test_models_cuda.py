"""The shipped models on CUDA: the same losses and gradients as on the CPU in float32,
and finite ones under AMP (float16 autocast) with channels-last weights."""
import os

from ctl_plugin.config import build_cfg

import pytest
import torch
from fastreid.modeling.meta_arch import build_model
from fastreid.utils.events import EventStorage

from tests.cuda import CUDA

pytestmark = CUDA

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = {
    "VideoBaseline": ("configs/Baseline_MARS.yml", []),
    "CTL": ("configs/CTL_MARS.yml", ["KEYPOINTS.SOURCE", "cache"]),
    "GRL": ("projects/GRL/configs/GRL_MARS.yml", []),
    "STMN": ("projects/STMN/configs/STMN_MARS.yml", []),
}
IDS, CLIPS, T, H, W = 2, 2, 4, 128, 64


def tiny_model(name, device):
    yaml, opts = CONFIGS[name]
    cfg = build_cfg(os.path.join(ROOT, yaml), opts + [
        "MODEL.DEVICE", device, "MODEL.BACKBONE.PRETRAIN", False, "MODEL.BACKBONE.DEPTH", "18x",
        "MODEL.BACKBONE.FEAT_DIM", 512, "MODEL.HEADS.NUM_CLASSES", IDS, "INPUT.SIZE_TRAIN", [H, W],
        "INPUT.SIZE_TEST", [H, W], "VIDEO.TRAIN.SEQ_LEN", T, "VIDEO.TEST.SEQ_LEN", T])
    torch.manual_seed(0)
    return build_model(cfg).train()


def batch(device):
    g = torch.Generator().manual_seed(0)
    b = IDS * CLIPS
    keypoints = torch.rand(b, T, 17, 3, generator=g) * torch.tensor([W - 1.0, H - 1.0, 1.0])
    cpu = {"images": torch.rand(b, T, 3, H, W, generator=g) * 255,
           "targets": torch.arange(IDS).repeat_interleave(CLIPS), "camids": torch.arange(b) % 2,
           "keypoints": keypoints}
    return {k: v.to(device) for k, v in cpu.items()}


def losses_and_grads(model, inputs, amp=False):
    with EventStorage(), torch.autocast("cuda", dtype=torch.float16, enabled=amp):
        losses = model(inputs)
    sum(losses.values()).backward()
    grads = {n: p.grad.float().cpu() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return {k: v.float().cpu() for k, v in losses.items()}, grads


@pytest.fixture
def no_tf32():
    """Full float32 products on CUDA (TF32 rounds inputs to 10 mantissa bits)."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


@pytest.mark.parametrize("name", list(CONFIGS))
def test_float32_on_cuda_equals_cpu(name, no_tf32):
    cpu = tiny_model(name, "cpu")
    cuda = tiny_model(name, "cuda")
    cuda.load_state_dict(cpu.state_dict())
    losses_cpu, grads_cpu = losses_and_grads(cpu, batch("cpu"))
    losses_cuda, grads_cuda = losses_and_grads(cuda, batch("cuda"))
    assert losses_cpu.keys() == losses_cuda.keys()
    for key in losses_cpu:
        torch.testing.assert_close(losses_cuda[key], losses_cpu[key], rtol=1e-3, atol=1e-4, msg=key)
    assert grads_cpu.keys() == grads_cuda.keys()
    for key in grads_cpu:
        scale = grads_cpu[key].abs().max().clamp(min=1e-6)
        assert (grads_cuda[key] - grads_cpu[key]).abs().max() <= 1e-2 * scale, key


@pytest.mark.parametrize("name", list(CONFIGS))
def test_amp_and_channels_last_train_and_test(name):
    model = tiny_model(name, "cuda").to(memory_format=torch.channels_last)
    reference, _ = losses_and_grads(tiny_model(name, "cuda"), batch("cuda"))
    losses, grads = losses_and_grads(model, batch("cuda"), amp=True)
    assert losses.keys() == reference.keys()
    assert all(torch.isfinite(value) for value in losses.values())
    # batch-hard triplets of random features pick other pairs under float16 rounding, so
    # single losses can move by 20 %; their sum stays close to float32's
    total, expected = sum(losses.values()), sum(reference.values())
    assert abs(total - expected) <= 0.1 * abs(expected), (losses, reference)
    assert grads and all(torch.isfinite(g).all() for g in grads.values())
    model.eval()
    inputs = batch("cuda")
    inputs["num_clips"] = torch.tensor([1, 3], device="cuda")
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16):
        features = model(inputs)
    assert features.shape[0] == 2 and torch.isfinite(features).all()
