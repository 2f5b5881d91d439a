"""The compatibility fixes on a CUDA machine: the fixes aimed at CPU-only machines leave
fast-reid's GPU code in place, and that code runs on today's torch."""
import os
import subprocess
import sys
import textwrap

from ctl_plugin import compat

import torch

from tests.cuda import CUDA

pytestmark = CUDA

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_fastreid_dataloader_x_moves_batches_to_the_gpu():
    from fastreid.data import build
    assert compat.fix_dataloader_x() is False
    assert not getattr(build.DataLoaderX, "_ctl_compat", False)  # fast-reid's own class
    data = [{"images": torch.full((3, 4), float(i)), "targets": torch.tensor(i)} for i in range(6)]
    loader = build.DataLoaderX(0, dataset=data, batch_size=4, pin_memory=True)
    batches = list(loader)
    assert [b["images"].device.type for b in batches] == ["cuda", "cuda"]
    assert torch.equal(torch.cat([b["targets"] for b in batches]).cpu(), torch.arange(6))


def test_cpu_ddp_fix_passes_cuda_modules_through_on_nccl():
    """fast-reid's NCCL worker (one rank) wraps a CUDA module with device_ids, as fast-reid does."""
    script = """
        import ctl_plugin, torch
        import fastreid.engine.defaults as defaults
        from fastreid.engine.launch import _distributed_worker, _find_free_port
        def train():
            module = torch.nn.Linear(4, 2).cuda()
            ddp = defaults.DistributedDataParallel(module, device_ids=[0], broadcast_buffers=False)
            assert ddp.device_ids == [0]
            ddp(torch.ones(3, 4, device="cuda")).sum().backward()
            assert module.weight.grad.is_cuda and torch.isfinite(module.weight.grad).all()
            print("nccl ok", torch.distributed.get_backend())
        _distributed_worker(0, train, 1, 1, 0, f"tcp://127.0.0.1:{_find_free_port()}", ())
    """
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0 and "nccl ok nccl" in res.stdout, res.stderr[-3000:]


def test_torchvision_cuda_ops_load():
    import torchvision
    assert not compat.torchvision_ops_missing()
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], dtype=torch.float, device="cuda")
    keep = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8, 0.7], device="cuda"), 0.5)
    assert keep.tolist() == [0, 2]
    image = (torch.rand(3, 256, 128) * 255).to(torch.uint8)
    decoded = torchvision.io.decode_jpeg(torchvision.io.encode_jpeg(image, quality=95), device="cuda")
    assert decoded.shape == (3, 256, 128) and decoded.is_cuda


def test_fastreid_optimizer_trains_cuda_parameters():
    """The zero_grad fix keeps fast-reid's contiguous gradient buffer on the GPU in use."""
    from fastreid.config import get_cfg
    from fastreid.solver import build

    cfg = get_cfg()
    cfg.SOLVER.OPT, cfg.SOLVER.BASE_LR = "Adam", 0.01
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1).cuda()
    optimizer, _ = build.build_optimizer(cfg, model)
    x, y = torch.randn(8, 4, device="cuda"), torch.randn(8, 1, device="cuda")
    weights = [model.weight.detach().clone()]
    for _ in range(3):
        optimizer.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        optimizer.step()
        weights.append(model.weight.detach().clone())
    assert all(not torch.equal(a, b) for a, b in zip(weights, weights[1:]))
