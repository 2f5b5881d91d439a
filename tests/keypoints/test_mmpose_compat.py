"""The install: mmpose imports only with the shims, mediapipe's protobuf suits tensorboard."""
import importlib.metadata
import subprocess
import sys

import ctl_plugin

import pytest
import torch


def run_python(code):
    """Run `code` in a fresh interpreter where `compat` is ctl_plugin/compat.py loaded
    alone (importing ctl_plugin would apply every fix)."""
    load = ("import importlib.util as u; s = u.spec_from_file_location('compat', %r); "
            "compat = u.module_from_spec(s); s.loader.exec_module(compat)\n" % ctl_plugin.compat.__file__)
    return subprocess.run([sys.executable, "-c", load + code], capture_output=True, text=True, timeout=120)


def test_mmpose_import_needs_mmcv_ops_stub():
    only_torchvision = "compat.fix_torchvision_op_schemas(); import mmpose.apis"
    failed = run_python(only_torchvision)
    assert failed.returncode != 0
    assert "No module named 'mmcv._ext'" in failed.stderr
    both = ("compat.fix_torchvision_op_schemas(); "
            "assert compat.fix_mmcv_ops_stub(); import mmpose.apis\n"
            "from mmcv.ops import MultiScaleDeformableAttention as M\n"
            "try:\n    M()\nexcept RuntimeError as e:\n    print('refused:', e)\n")
    ok = run_python(both)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "refused: mmcv.ops.MultiScaleDeformableAttention needs mmcv built" in ok.stdout


def test_mmcv_ops_stub_hides_no_dunder_names():
    from ctl_plugin.compat import _missing_mmcv_op
    with pytest.raises(AttributeError):
        _missing_mmcv_op("__path__")
    op = _missing_mmcv_op("nms")
    with pytest.raises(RuntimeError, match="mmcv.ops.nms"):
        op()


def test_tensorboard_works_with_mediapipe_protobuf(tmp_path):
    import mediapipe  # noqa: F401  (imports its protobuf-4 generated modules)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    assert importlib.metadata.version("protobuf").startswith("4.")
    writer = SummaryWriter(str(tmp_path))
    for step, value in enumerate((0.5, 0.25, 0.125)):
        writer.add_scalar("loss", value, step)
    writer.close()
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("loss")] == [(0, 0.5), (1, 0.25), (2, 0.125)]


def test_no_cuda_packages_on_a_cpu_torch():
    if torch.version.cuda is not None:
        pytest.skip("a CUDA torch brings its own nvidia-* packages")
    names = [d.metadata["Name"] for d in importlib.metadata.distributions()]
    assert not [n for n in names if n.lower().startswith("nvidia-")]
    assert importlib.metadata.version("mmpose") == "1.3.2"
    assert importlib.metadata.version("mmcv-lite") == "2.1.0"
