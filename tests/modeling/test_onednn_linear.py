"""The graph head's dense layers: oneDNN's products against torch's, in values and gradients."""
from ctl_plugin.modeling.graph.ctl_graph import CTLGraph
from ctl_plugin.modeling.graph.onednn_linear import Linear, linear, onednn_products, uses_onednn

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

needs_onednn = pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="torch built without oneDNN")


def values_and_grads(fn, *leaves):
    leaves = [t.detach().clone().requires_grad_() for t in leaves]
    out = fn(*leaves)
    g = torch.Generator().manual_seed(3)
    out.backward(torch.randn(out.shape, generator=g))
    return [out.detach()] + [t.grad for t in leaves]


def close(a, b):
    return torch.allclose(a, b, rtol=1e-5, atol=1e-5 * b.abs().max().item())


@needs_onednn
@pytest.mark.parametrize("x_shape, weight_width, cols", [
    ((7, 33), 33, slice(0, 33)),  # a plain matrix
    ((2, 3, 5, 64), 64, slice(0, 64)),  # leading dimensions, as the graph's [B, T, N, C] nodes
    ((2, 3, 5, 5, 16), 32, slice(16, 32)),  # a column slice of a wider weight, as RelationFeature's h
])
def test_linear_equals_torch_in_values_and_both_gradients(x_shape, weight_width, cols):
    g = torch.Generator().manual_seed(0)
    x, wide = torch.randn(x_shape, generator=g), torch.randn(24, weight_width, generator=g)
    assert uses_onednn(x, wide[:, cols])
    got = values_and_grads(lambda a, w: linear(a, w[:, cols]), x, wide)
    want = values_and_grads(lambda a, w: F.linear(a.double(), w[:, cols].double()).float(), x, wide)
    assert got[0].shape == (*x_shape[:-1], 24)
    for a, b in zip(got, want):
        assert close(a, b)
    used = torch.zeros(weight_width, dtype=torch.bool)
    used[cols] = True
    assert (got[2][:, ~used] == 0).all() and (got[2][:, used] != 0).all()


@needs_onednn
def test_transposed_input_and_a_frozen_weight():
    g = torch.Generator().manual_seed(1)
    x, w = torch.randn(40, 12, generator=g), torch.randn(9, 40, generator=g)
    xt = x.detach().requires_grad_()
    out = linear(xt.t(), w)  # a transposed view: used as it is
    out.sum().backward()
    assert close(out, xt.t() @ w.t()) and close(xt.grad, w.sum(0)[:, None].expand(40, 12))


def test_other_dtypes_autocast_and_the_switch_fall_back_to_torch():
    x, w = torch.randn(5, 8), torch.randn(3, 8)
    assert not uses_onednn(x.double(), w.double())
    assert torch.equal(linear(x.double(), w.double()), F.linear(x.double(), w.double()))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not uses_onednn(x, w)
        assert linear(x, w).dtype == torch.bfloat16
    with onednn_products(False):
        assert not uses_onednn(x, w)
        assert torch.equal(linear(x, w), F.linear(x, w))
    assert uses_onednn(x, w) == torch.backends.mkldnn.is_available()


def test_linear_module_keeps_nn_linears_parameter_and_state_dict():
    torch.manual_seed(0)
    ours = Linear(6, 4)
    torch.manual_seed(0)
    theirs = torch.nn.Linear(6, 4, bias=False)
    assert list(ours.state_dict()) == ["weight"] and torch.equal(ours.weight, theirs.weight)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(3, 6)
    assert close(ours(x), theirs(x))


def graph_step(graph, fmaps, heatmaps):
    """Outputs of a training forward and the gradients of every parameter and input."""
    torch.manual_seed(5)
    leaves = [fmaps.clone().requires_grad_(), heatmaps]
    vg, vp = graph(*leaves)
    (vg.square().sum() + (vp * torch.randn_like(vp)).sum()).backward()
    grads = {n: p.grad.clone() for n, p in graph.named_parameters()}
    graph.zero_grad(set_to_none=True)
    return vg.detach(), vp.detach(), leaves[0].grad, grads


@needs_onednn
def test_ctl_graph_is_the_same_with_and_without_onednn():
    """Every product of the paper's graph head (two 3D-GCLs, the s1 and s2 CS-GCLs)."""
    b, t, c, h, w = 2, 6, 32, 8, 4
    g = torch.Generator().manual_seed(2)
    fmaps = torch.randn(b, t, c, h, w, generator=g)
    heatmaps = torch.softmax(torch.randn(b, t, 17, h * w, generator=g), -1).view(b, t, 17, h, w)
    torch.manual_seed(0)
    graph = CTLGraph(c, num_frames=t, embed_dim=16).train()
    with torch.no_grad():
        for layer in graph.layers:
            layer.mask.uniform_(-0.3, 0.3)
    state = {k: v.clone() for k, v in graph.state_dict().items()}
    ours = graph_step(graph, fmaps, heatmaps)
    ours_stats = {k: v.clone() for k, v in graph.state_dict().items()}
    graph.load_state_dict(state)
    with onednn_products(False):
        theirs = graph_step(graph, fmaps, heatmaps)
    for a, b_ in zip(ours[:3], theirs[:3]):
        assert close(a, b_)
    assert ours[3].keys() == theirs[3].keys() and len(ours[3]) > 20
    for name in ours[3]:
        assert close(ours[3][name], theirs[3][name]), name
    for name, value in graph.state_dict().items():  # BN running statistics
        assert close(ours_stats[name].float(), value.float()), name


def test_flop_counter_counts_the_onednn_products():
    x, w = torch.randn(10, 16, requires_grad=True), torch.randn(4, 16, requires_grad=True)
    counts = []
    for enabled in (True, False):
        counter = FlopCounterMode(display=False)
        with onednn_products(enabled), counter:
            linear(x, w).sum().backward()
        counts.append(counter.get_total_flops())
    assert counts[0] == counts[1] == 3 * 2 * 10 * 16 * 4
