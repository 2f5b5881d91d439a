"""Each compatibility fix: fast-reid/torchvision fail without it and work with it."""
import os
import subprocess
import sys
import textwrap

from ctl_plugin import compat

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_fastreid_imports_only_with_the_pre_import_fixes():
    """One fresh interpreter per pre-import fix left out: the import fails, naming what broke;
    with all of them it succeeds."""
    expected_errors = {
        "fix_torch_six": "torch._six",
        "fix_collections_mapping": "Mapping",
    }
    if compat.torchvision_ops_missing():
        expected_errors["fix_torchvision_op_schemas"] = "torchvision::nms"
    script = """
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("compat", "ctl_plugin/compat.py")
        compat = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(compat)  # the module alone: `import ctl_plugin` would apply it
        for fix in compat.BEFORE_IMPORT:
            if fix.__name__ != sys.argv[1]:
                fix()
        import fastreid.data, fastreid.engine, fastreid.evaluation
        print("imported")
    """
    for left_out, message in expected_errors.items():
        res = subprocess.run([sys.executable, "-c", textwrap.dedent(script), left_out], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        assert res.returncode != 0 and message in res.stderr, (left_out, res.stderr[-2000:])
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(script), "none"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "imported" in res.stdout, res.stderr[-2000:]


def test_evaluator_warns_instead_of_exiting(monkeypatch):
    from fastreid.evaluation import reid_evaluation
    monkeypatch.setitem(sys.modules, "fastreid.evaluation.rank_cylib.rank_cy", None)  # import fails
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 1))  # make fails
    patched = reid_evaluation.ReidEvaluator._compile_dependencies
    with pytest.raises(SystemExit):
        patched.__wrapped__(None)
    patched(None)  # warns, returns


@pytest.mark.skipif(torch.cuda.is_available(), reason="fast-reid's DataLoaderX is kept on CUDA machines")
def test_dataloader_x_runs_without_cuda():
    from fastreid.data import build
    data = torch.arange(10.0)
    with pytest.raises((RuntimeError, AssertionError)):
        build.DataLoaderX.__wrapped__(0, dataset=data, batch_size=4)
    loader = build.DataLoaderX(0, dataset=data, batch_size=4, pin_memory=True)
    assert torch.equal(torch.cat(list(loader)), data)


def test_ddp_wraps_cpu_modules():
    import fastreid.engine.defaults as defaults
    import torch.distributed as dist
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29533")
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        with pytest.raises(ValueError):
            defaults.DistributedDataParallel.__wrapped__(torch.nn.Linear(2, 2), device_ids=[0])
        wrapped = defaults.DistributedDataParallel(torch.nn.Linear(2, 2), device_ids=[0],
                                                   broadcast_buffers=False)
        assert wrapped(torch.ones(1, 2)).shape == (1, 2)
    finally:
        dist.destroy_process_group()


def test_every_fix_is_applied_once():
    """A second call of each fix finds its repair in place and changes nothing."""
    from fastreid.data import build
    from fastreid.solver import build as solver_build
    patched = (build.DataLoaderX, solver_build.build_optimizer, sys.modules.get("torch._six"))
    for fix in compat.BEFORE_IMPORT + compat.AFTER_IMPORT:
        assert fix() is False, fix.__name__
    assert (build.DataLoaderX, solver_build.build_optimizer, sys.modules.get("torch._six")) == patched
    assert compat.apply() == []


def test_fastreid_optimizer_keeps_training_after_zero_grad():
    """fast-reid's own SimpleTrainer step, three times: every step changes the weights."""
    from fastreid.config import get_cfg
    from fastreid.engine.train_loop import SimpleTrainer
    from fastreid.solver import build

    cfg = get_cfg()
    cfg.SOLVER.OPT, cfg.SOLVER.BASE_LR = "Adam", 0.01
    torch.manual_seed(0)
    data = [{"x": torch.randn(8, 4), "y": torch.randn(8, 1)}] * 3

    class Regressor(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 1)

        def forward(self, batch):
            return {"loss_mse": ((self.fc(batch["x"]) - batch["y"]) ** 2).mean()}

    def steps(builder):
        torch.manual_seed(1)
        model = Regressor()
        optimizer, params = builder(cfg, model)
        trainer = SimpleTrainer(model, data, optimizer, params)
        trainer.storage = __import__("fastreid.utils.events", fromlist=["EventStorage"]).EventStorage()
        weights = [model.fc.weight.detach().clone()]
        with trainer.storage:
            for _ in range(3):
                trainer.run_step()
                weights.append(model.fc.weight.detach().clone())
        return [not torch.equal(a, b) for a, b in zip(weights, weights[1:])]

    assert steps(build.build_optimizer.__wrapped__)[1:] == [False, False]  # frozen after step 1
    assert steps(build.build_optimizer) == [True, True, True]
