"""Dense layers of the graph head, with their float32 CPU products run by oneDNN.

PyTorch's CPU `linear` calls MKL's sgemm, which on AMD processors runs its AVX2
code: about 215 GFLOP/s on the 2 cores of bench/README.md, where oneDNN, which
runs the backbone's convolutions, multiplies the same matrices at about 480.
For float32 CPU tensors `linear` therefore calls oneDNN's matrix product in the
forward and both backward products; elsewhere (CUDA, autocast, other dtypes,
torch.compile, a build without oneDNN) it is `torch.nn.functional.linear`. Both
compute the same float32 product, summed in another order.
"""
import contextlib

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable
from torch.utils.flop_counter import register_flop_formula

_ONEDNN = getattr(torch.ops.mkldnn, "_linear_pointwise", None)  # None in a build without oneDNN


def _dense_or_transposed(t):
    """t itself if it is a dense matrix or the transpose of one; otherwise (a column slice,
    say) a dense copy: oneDNN takes other strides to its reference kernel, hundreds of times slower."""
    return t if t.is_contiguous() or t.t().is_contiguous() else t.contiguous()


def _onednn_mm(a, b_t):
    """a [M, K] @ b_t.T for b_t [N, K] -> [M, N]."""
    return _ONEDNN(a, b_t, None, "none", [], "")


class _OneDnnLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight):
        ctx.save_for_backward(x, weight)
        return _onednn_mm(x, weight)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        grad_x = _onednn_mm(grad, weight.t()) if ctx.needs_input_grad[0] else None
        grad_w = _onednn_mm(grad.t(), x.t()) if ctx.needs_input_grad[1] else None
        return grad_x, grad_w


if _ONEDNN is not None:
    @register_flop_formula(_ONEDNN)
    def _onednn_linear_flop(x_shape, w_shape, *args, out_shape=None, **kwargs):
        """FlopCounterMode's count of oneDNN's product, as for aten.mm (one multiply-add = 2)."""
        return 2 * x_shape[:-1].numel() * x_shape[-1] * w_shape[0]


_enabled = True


@contextlib.contextmanager
def onednn_products(enabled):
    """Inside the block, `linear` uses oneDNN where it can (`enabled`, the default outside) or never."""
    global _enabled
    previous, _enabled = _enabled, bool(enabled)
    try:
        yield
    finally:
        _enabled = previous


def uses_onednn(x, weight):
    """Whether `linear(x, weight)` runs in oneDNN."""
    return (_enabled and _ONEDNN is not None and torch.backends.mkldnn.is_available()
            and x.device.type == "cpu" and x.dtype == weight.dtype == torch.float32
            and not torch.is_autocast_enabled("cpu") and not torch.compiler.is_compiling())


def linear(x, weight):
    """x [..., K] @ weight.T for weight [N, K] -> [..., N], without bias."""
    if not uses_onednn(x, weight):
        return F.linear(x, weight)
    flat = _dense_or_transposed(x.reshape(-1, x.shape[-1]))
    return _OneDnnLinear.apply(flat, _dense_or_transposed(weight)).view(*x.shape[:-1], weight.shape[0])


class Linear(nn.Linear):
    """`nn.Linear` without bias (the same parameter and state-dict key) through `linear`."""

    def __init__(self, in_features, out_features):
        super().__init__(in_features, out_features, bias=False)

    def forward(self, x):
        return linear(x, self.weight)
