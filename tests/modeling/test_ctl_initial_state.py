"""CTL.FUSION.PART_TERM: the gated part terms start at 0, so that at iteration 0 CTL's test
feature is VideoBaseline's feature of the same backbone, and each fusion rule equals a direct
computation of its formula."""
from ctl_plugin.modeling.graph.fusion import GATED_PART_TERMS, PART_TERMS, FusionBlock

import pytest
import torch
from fastreid.modeling.meta_arch import build_model

from tests.modeling.test_ctl_model import batch, tiny_cfg, train_losses

GATED = GATED_PART_TERMS


def ctl_and_baseline(part_term, branch):
    cfg = tiny_cfg(FEAT_DIM=512)
    cfg.CTL.FUSION.PART_TERM = part_term
    cfg.CTL.FUSION.INFERENCE_BRANCH = branch
    ctl = build_model(cfg)
    cfg.MODEL.META_ARCHITECTURE = "VideoBaseline"
    baseline = build_model(cfg)
    ctl.backbone.load_state_dict(baseline.backbone.state_dict())
    ctl.heads[branch].load_state_dict(baseline.heads.state_dict())
    return ctl, baseline


@pytest.mark.parametrize("branch", ["a", "c"])
@pytest.mark.parametrize("part_term", PART_TERMS)
def test_gated_ctl_starts_with_video_baselines_feature(part_term, branch):
    ctl, baseline = ctl_and_baseline(part_term, branch)
    inputs = batch(clips=[1, 3, 2])
    # one training step's batch statistics first, so that the BatchNorms are not at their defaults
    train_losses(ctl, batch())
    train_losses(baseline, batch())
    ctl.backbone.load_state_dict(baseline.backbone.state_dict())
    ctl.heads[branch].load_state_dict(baseline.heads.state_dict())
    with torch.no_grad():
        ours, theirs = ctl.eval()(inputs), baseline.eval()(inputs)
    assert ours.shape == theirs.shape == (3, ctl.fusion.channels)
    if part_term in (*GATED, "none"):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    else:  # the plain sum and the mean start from the random graph layers' output
        assert (ours - theirs).abs().max() > 1e-2


@pytest.mark.parametrize("part_term", GATED)
def test_gates_start_shut_and_learn(part_term):
    """At initialisation the training features of branches a and c equal V_f^g, and the
    losses send the gates a gradient (a gate whose gradient is zero would never open);
    the layers behind a shut gate (g_c) get theirs once it has opened."""
    fusion = FusionBlock(12, 5, part_term).train()
    global_feat, parts = torch.randn(4, 3, 12), torch.randn(4, 3, 5, 12)
    out = fusion(global_feat, parts)
    for b in "ac":
        torch.testing.assert_close(out[b], out["g"])
    ctl, _ = ctl_and_baseline(part_term, "a")
    sum(train_losses(ctl, batch()).values()).backward()
    gates = [p for n, p in ctl.fusion.named_parameters() if n.startswith("gate_")]
    assert len(gates) == (2 if part_term == "zero_scale" else 4)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in gates)
    assert ctl.fusion.reduce.weight.grad.abs().sum() == 0
    with torch.no_grad():
        for p in gates:
            p.add_(0.1)
    ctl.zero_grad()
    sum(train_losses(ctl, batch()).values()).backward()
    assert ctl.fusion.reduce.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("part_term", PART_TERMS)
def test_fusion_equals_its_formula(part_term):
    """V_f^a = TAP(gate(sum_n or mean_n [V_p]_n) + V_g) and V_f^c = TAP(gate([g_c(V_p)_n]_n, 0-padded) + V_g),
    computed element by element, with a gate opened to non-trivial values."""
    torch.manual_seed(0)
    b, t, n, c = 2, 3, 5, 12
    fusion = FusionBlock(c, n, part_term).eval()
    with torch.no_grad():
        for gate in (fusion.gate_a, fusion.gate_c):
            if gate.scale is not None:
                gate.scale.fill_(0.7)
            if gate.norm is not None:
                for name in ("weight", "bias", "running_mean", "running_var"):
                    getattr(gate.norm, name).uniform_(0.5, 1.5)
    vg, vp = torch.randn(b, t, c), torch.randn(b, t, n, c)

    def gate(module, x):  # x: one frame's vector
        if module.off:
            return torch.zeros_like(x)
        if module.scale is not None:
            return module.scale * x
        if module.norm is not None:
            bn = module.norm
            return (x - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
        return x

    out = fusion(vg, vp)
    width = c // n
    for i in range(b):
        a = torch.zeros(c)
        cc = torch.zeros(c)
        for k in range(t):
            total = sum(vp[i, k, m] for m in range(n))
            a += gate(fusion.gate_a, total / n if part_term == "mean" else total) + vg[i, k]
            cat = torch.cat([fusion.reduce.weight @ vp[i, k, m] for m in range(n)])
            cc += torch.cat([gate(fusion.gate_c, cat), torch.zeros(c - n * width)]) + vg[i, k]
        torch.testing.assert_close(out["a"][i], a / t, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(out["c"][i], cc / t, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(out["g"][i], vg[i].mean(0))


def test_no_part_term_is_three_heads_on_the_global_feature():
    """"none", the study's control: V_f^a and V_f^c are V_f^g, and only L_div reaches the graph."""
    fusion = FusionBlock(12, 5, "none")
    global_feat = torch.randn(4, 3, 12, requires_grad=True)
    parts = torch.randn(4, 3, 5, 12, requires_grad=True)
    out = fusion(global_feat, parts)
    assert torch.equal(out["a"], out["g"]) and torch.equal(out["c"], out["g"])
    (out["a"].sum() + out["c"].sum()).backward()
    assert parts.grad is None or parts.grad.abs().sum() == 0
    ctl, _ = ctl_and_baseline("none", "a")
    losses = train_losses(ctl, batch())
    losses["loss_div"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in ctl.graph.parameters())


@pytest.mark.parametrize("part_term", GATED)
def test_gate_gain_multiplies_the_gated_term_and_its_parameters_gradient(part_term):
    """CTL.FUSION.GATE_GAIN k: still shut at initialisation; with the same parameters the part
    term is k times larger, and so is every gate parameter's gradient (Adam then moves the
    gate k times faster)."""
    torch.manual_seed(0)
    global_feat, parts = torch.randn(4, 3, 12), torch.randn(4, 3, 5, 12)
    plain, gained = FusionBlock(12, 5, part_term).train(), FusionBlock(12, 5, part_term, gate_gain=10.0).train()
    out = gained(global_feat, parts)
    for b in "ac":
        torch.testing.assert_close(out[b], out["g"])
    with torch.no_grad():
        for p in plain.parameters():
            p.uniform_(0.5, 1.5)
    gained.load_state_dict(plain.state_dict())
    outs = [f(global_feat, parts) for f in (plain, gained)]
    for b in "ac":
        torch.testing.assert_close(outs[1][b] - outs[1]["g"], 10 * (outs[0][b] - outs[0]["g"]), rtol=1e-5, atol=1e-5)
    weights = torch.randn(4, 12)  # a loss linear in V_f^a: its gradient on V_f^a is the same for both
    for o in outs:
        (o["a"] * weights).sum().backward()
    grads = [dict((n, p.grad) for n, p in f.named_parameters() if n.startswith("gate_a")) for f in (plain, gained)]
    assert grads[0]
    for name, g in grads[0].items():
        torch.testing.assert_close(grads[1][name], 10 * g, rtol=1e-4, atol=1e-4)
