"""Every fix that fastreid 1.4.0, mmpose 1.3.2 and the PyPI torchvision need on today's torch.

`apply()` runs once, on `import ctl_plugin`, before torchvision or fastreid is
imported. Each fix is one function that repairs exactly one breakage and is
tested on its own (tests/test_compat.py). On a CUDA machine the GPU code paths
of fast-reid (DataLoaderX, NCCL DDP) stay as they are. Re-ranking and the flip
test of clips are not fixes: `engine.VideoTrainer` reaches them through its own
evaluator and inference loop, on every machine.
fast-reid's INPUT.AFFINE (whose torchvision arguments were renamed) needs no fix:
clips are augmented by `data.transforms.ClipTransform`, which refuses that key.
"""
import collections
import collections.abc
import functools
import glob
import importlib.util
import logging
import os
import sys
import types

import torch

logger = logging.getLogger(__name__)

_APPLIED = False
_TORCHVISION_LIB = None  # keeps the torch.library fragment alive


def torchvision_ops_missing() -> bool:
    """True when torchvision's C++ extension cannot be loaded on this torch.

    Every PyPI torchvision for Linux is a CUDA build whose `_C.so` needs
    `libtorch_cuda.so`; on a CPU torch it fails to load and `import torchvision`
    then dies in `_meta_registrations` on `torchvision::nms`.
    """
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return False
    libs = glob.glob(os.path.join(spec.submodule_search_locations[0], "_C*.so"))
    if not libs:
        return True
    try:
        torch.ops.load_library(libs[0])
    except (OSError, RuntimeError):
        return True
    return False


def fix_torchvision_op_schemas():
    """Declare the `torchvision::nms`/`qnms` schemas when the C++ ops can't load.

    torchvision then imports in pure Python: transforms and models work, C++ ops
    (nms, roi_align, decode_jpeg) raise if called. fast-reid uses none of them.
    """
    global _TORCHVISION_LIB
    if "torchvision" in sys.modules or not torchvision_ops_missing():
        return False
    try:
        _ = torch.ops.torchvision.nms.default  # already declared (e.g. applied twice)
        return False
    except (AttributeError, RuntimeError):
        pass
    _TORCHVISION_LIB = torch.library.Library("torchvision", "DEF")
    _TORCHVISION_LIB.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _TORCHVISION_LIB.define(
        "qnms(Tensor dets, Tensor scores, float iou_threshold, float scale, int zero_point) -> Tensor")
    return True


class _MissingMmcvOp:
    """Stands for an `mmcv.ops` name under mmcv-lite: importable, fails when used."""

    op_name = ""

    def __init__(self, *args, **kwargs):
        raise RuntimeError(
            f"mmcv.ops.{self.op_name} needs mmcv built with its C++/CUDA ops (mmcv-lite is "
            "installed). The top-down heat-map models the plugin uses do not need it.")


def _missing_mmcv_op(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return type(name, (_MissingMmcvOp,), {"op_name": name})


def fix_mmcv_ops_stub():
    """mmcv-lite has no `mmcv._ext`, so `import mmcv.ops` fails, and `mmpose.apis`
    imports it (ED-Pose head: `from mmcv.ops import MultiScaleDeformableAttention`).
    Register an `mmcv.ops` whose names import and raise a clear error when used."""
    if "mmcv.ops" in sys.modules or importlib.util.find_spec("mmcv") is None:
        return False
    if importlib.util.find_spec("mmcv._ext") is not None:
        return False
    ops = types.ModuleType("mmcv.ops")
    ops.__getattr__ = _missing_mmcv_op
    sys.modules["mmcv.ops"] = ops
    return True


def fix_torch_six():
    """`from torch._six import string_classes` (fastreid/data/build.py); removed in torch 2.0."""
    if "torch._six" in sys.modules:
        return False
    six = types.ModuleType("torch._six")
    six.string_classes = (str, bytes)
    six.container_abcs = collections.abc
    six.int_classes = int
    six.inf = float("inf")
    sys.modules["torch._six"] = six
    torch._six = six
    return True


def fix_collections_mapping():
    """`from collections import Mapping` (fastreid data/build.py, evaluation/testing.py); gone in 3.10."""
    if hasattr(collections, "Mapping"):
        return False
    collections.Mapping = collections.abc.Mapping
    return True


def fix_evaluator_exit():
    """`ReidEvaluator._compile_dependencies` runs `make` in site-packages and calls
    `sys.exit(1)` if that fails, after training. Warn and use the Python ranker instead."""
    from fastreid.evaluation import reid_evaluation

    if getattr(reid_evaluation.ReidEvaluator._compile_dependencies, "_ctl_compat", False):
        return False

    def _compile_dependencies(self):
        try:
            from fastreid.evaluation.rank_cylib.rank_cy import evaluate_cy  # noqa: F401
        except ImportError:
            logger.warning("fast-reid's Cython rank evaluator is not built (run `make install`); "
                           "using the Python fallback, which is about 20x slower.")

    _compile_dependencies._ctl_compat = True
    _compile_dependencies.__wrapped__ = reid_evaluation.ReidEvaluator._compile_dependencies
    reid_evaluation.ReidEvaluator._compile_dependencies = _compile_dependencies
    return True


def fix_dataloader_x():
    """`DataLoaderX` creates a CUDA stream and moves batches to `cuda:local_rank`.
    Without CUDA, use a plain DataLoader that takes the same arguments."""
    if torch.cuda.is_available():
        return False
    from fastreid.data import build, data_utils

    if getattr(build.DataLoaderX, "_ctl_compat", False):
        return False

    class DataLoaderX(torch.utils.data.DataLoader):
        _ctl_compat = True

        def __init__(self, local_rank, **kwargs):
            kwargs["pin_memory"] = False
            super().__init__(**kwargs)
            self.local_rank = local_rank

    DataLoaderX.__wrapped__ = build.DataLoaderX
    build.DataLoaderX = DataLoaderX
    data_utils.DataLoaderX = DataLoaderX
    return True


def fix_cpu_ddp():
    """`DefaultTrainer` wraps the model in DDP with `device_ids=[local_rank]`, which
    DDP rejects for a CPU module. Drop `device_ids` when the module is on the CPU
    (gloo multi-process training); CUDA modules are wrapped as fast-reid does."""
    import fastreid.engine.defaults as defaults

    ddp = torch.nn.parallel.DistributedDataParallel
    if defaults.DistributedDataParallel is not ddp:
        return False

    def DistributedDataParallel(module, device_ids=None, **kwargs):
        if next(module.parameters()).device.type == "cpu":
            device_ids = None
        return ddp(module, device_ids=device_ids, **kwargs)

    DistributedDataParallel.__wrapped__ = ddp
    defaults.DistributedDataParallel = DistributedDataParallel
    return True


def fix_zero_grad_contiguous():
    """fast-reid's `ContiguousParams` makes every `.grad` a view into one flat gradient
    buffer, which is what the optimizer steps. torch >= 2.0's `optimizer.zero_grad()`
    sets gradients to None, so from the first step on the optimizer sees no gradient
    and nothing trains. Optimizers built by fast-reid zero that buffer in place instead."""
    import fastreid.engine.defaults as defaults
    import fastreid.solver as solver
    from fastreid.solver import build

    if getattr(build.build_optimizer, "_ctl_compat", False):
        return False
    original = build.build_optimizer

    def build_optimizer(cfg, model, contiguous=True):
        optimizer, params = original(cfg, model, contiguous)
        if contiguous:
            optimizer.zero_grad = functools.partial(optimizer.zero_grad, set_to_none=False)
        return optimizer, params

    build_optimizer._ctl_compat = True
    build_optimizer.__wrapped__ = original
    for module in (build, solver, defaults):
        module.build_optimizer = build_optimizer
    return True


BEFORE_IMPORT = (fix_torchvision_op_schemas, fix_mmcv_ops_stub, fix_torch_six, fix_collections_mapping)
AFTER_IMPORT = (fix_evaluator_exit, fix_dataloader_x, fix_cpu_ddp, fix_zero_grad_contiguous)


def apply():
    """Apply every fix once; returns the names of the fixes that changed something."""
    global _APPLIED
    if _APPLIED:
        return []
    changed = [f.__name__ for f in BEFORE_IMPORT if f()]
    import fastreid.data
    import fastreid.engine
    import fastreid.evaluation  # noqa: F401
    changed += [f.__name__ for f in AFTER_IMPORT if f()]
    _APPLIED = True
    return changed
