"""Each compatibility fix: fast-reid/torchvision fail without it and work with it."""
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from ctl_plugin import compat

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


def test_random_affine_accepts_fastreid_arguments():
    import torchvision.transforms as T
    with pytest.raises(TypeError):
        T.RandomAffine.__wrapped__(degrees=10, resample=2, fillcolor=0)
    t = T.RandomAffine(degrees=10, resample=2, fillcolor=7)
    assert t.interpolation == T.InterpolationMode.BILINEAR and t.fill == 7
    # fast-reid's own INPUT.AFFINE path builds and runs
    from fastreid.config import get_cfg
    from fastreid.data.transforms import build_transforms
    from PIL import Image
    cfg = get_cfg()
    cfg.INPUT.AFFINE.ENABLED = True
    out = build_transforms(cfg, is_train=True)(Image.new("RGB", (64, 128)))
    assert out.shape == (3, 256, 128)


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


class _Recorder(torch.nn.Module):
    """Normalises in place like fast-reid's Baseline and returns a feature that reveals
    its (normalised) input: the first row (height) of frame 0, channel 0."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, inputs):
        images = inputs["images"]
        images.sub_(100.0).div_(50.0)
        self.seen.append(images.clone())
        return images[:, 0, 0, 0, :].clone()


def test_flip_test_flips_width_of_untouched_clips():
    from fastreid.evaluation.evaluator import DatasetEvaluator
    import fastreid.engine.defaults as defaults

    class Collect(DatasetEvaluator):
        def reset(self):
            self.outputs = []

        def process(self, inputs, outputs):
            self.outputs.append(outputs)

        def evaluate(self):
            return {"outputs": torch.cat(self.outputs)}

    clips = torch.arange(2 * 3 * 3 * 4 * 5, dtype=torch.float32).view(2, 3, 3, 4, 5)
    loader = [{"images": clips.clone(), "targets": torch.tensor([0, 1])}]

    class Loader(list):
        dataset = [0, 1]

    model = _Recorder()
    out = defaults.inference_on_dataset(model, Loader(loader), Collect(), flip_test=True)["outputs"]
    normalised = (clips - 100.0) / 50.0
    assert torch.allclose(model.seen[1], normalised.flip(-1))  # width flipped, normalised once
    expected = (normalised[:, 0, 0, 0, :] + normalised.flip(-1)[:, 0, 0, 0, :]) / 2
    assert torch.allclose(out, expected)
    # fast-reid's own loop flips the height and normalises the flipped pass twice
    model = _Recorder()
    defaults.inference_on_dataset.__wrapped__(model, Loader([{"images": clips.clone()}]), Collect(), True)
    assert not torch.allclose(model.seen[1], normalised.flip(-1))
    assert torch.allclose(model.seen[1], (normalised.flip(3) - 100.0) / 50.0)


def test_flip_test_mirrors_cached_keypoints():
    from ctl_plugin.keypoints.skeleton import FLIP_INDEX
    kps = torch.rand(2, 3, 17, 3) * 20
    images = torch.zeros(2, 3, 3, 8, 32)
    flipped = compat.flip_inputs({"images": images, "keypoints": kps})
    assert torch.allclose(flipped["keypoints"][..., 0], 31 - kps[..., FLIP_INDEX, 0])
    assert torch.allclose(flipped["keypoints"][..., 1:], kps[..., FLIP_INDEX, 1:])


def test_ddp_wraps_cpu_modules():
    import torch.distributed as dist
    import fastreid.engine.defaults as defaults
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


def test_apply_is_idempotent():
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
