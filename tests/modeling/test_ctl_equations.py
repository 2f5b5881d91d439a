"""Each CTL equation against a direct re-computation with loops, on small random tensors."""
from ctl_plugin.config import ConfigError
from ctl_plugin.keypoints import skeleton
from ctl_plugin.modeling.graph.context_block import BlockDiagonalExpansion, ContextBlock
from ctl_plugin.modeling.graph.cross_scale import CrossScaleGraphConv
from ctl_plugin.modeling.graph.ctl_graph import CTLGraph
from ctl_plugin.modeling.graph.fusion import FusionBlock
from ctl_plugin.modeling.graph.graph_conv3d import GraphConvLayer, normalize_adjacency
from ctl_plugin.modeling.graph.part_features import PartFeatures
from ctl_plugin.modeling.graph.temporal_windows import sliding_windows
from ctl_plugin.modeling.losses.diversity import diversity_loss

import pytest
import torch

torch.manual_seed(0)
ATOL = 1e-4


def randomize_bn(module):
    """Eval mode with non-trivial BN statistics, so BN is a fixed affine map."""
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return module.eval()


def bn_eval(bn, v):
    return (v - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias


def test_eq1_part_features_match_loops():
    b, t, c, h, w = 2, 3, 4, 4, 3
    fmaps = torch.randn(b, t, c, h, w)
    heat = torch.softmax(torch.randn(b, t, 17, h * w), -1).view(b, t, 17, h, w)
    vg, nodes = PartFeatures(("s1", "s2", "s3"))(fmaps, heat)
    assert vg.shape == (b, t, c) and nodes.shape == (b, t, 32, c)
    v1 = torch.zeros(b, t, 17, c)
    for i in range(b):
        for j in range(t):
            for k in range(17):
                for y in range(h):
                    for x in range(w):
                        v1[i, j, k] += heat[i, j, k, y, x] * fmaps[i, j, :, y, x]
            assert torch.allclose(vg[i, j], fmaps[i, j].mean((1, 2)), atol=ATOL)
    v2 = torch.stack([v1[:, :, list(g)].mean(2) for g in skeleton.PARTS_10], 2)
    v3 = torch.stack([torch.cat([v1[:, :, list(skeleton.PARTS_10[p])] for p in g], 2).mean(2)
                      for g in skeleton.PARTS_5_OF_10], 2)
    assert torch.allclose(nodes[:, :, :17], v1, atol=ATOL)
    assert torch.allclose(nodes[:, :, 17:27], v2, atol=ATOL)
    assert torch.allclose(nodes[:, :, 27:], v3, atol=ATOL)


def test_part_features_reject_mismatched_heatmaps():
    with pytest.raises(ValueError, match="heat-maps"):
        PartFeatures(("s3",))(torch.randn(1, 2, 4, 4, 3), torch.randn(1, 2, 17, 5, 3))
    with pytest.raises(ConfigError, match="CTL.CROSS_SCALE.SCALES"):
        PartFeatures(("s4",))


@pytest.mark.parametrize("tau", [1, 3, 5])
def test_sliding_windows_zero_padded(tau):
    b, t, n, c = 2, 4, 3, 2
    x = torch.randn(b, t, n, c)
    win = sliding_windows(x, tau)
    assert win.shape == (b, t, tau * n, c)
    r = tau // 2
    for i in range(t):
        for f in range(tau):
            src = i - r + f
            want = x[:, src] if 0 <= src < t else torch.zeros(b, n, c)
            assert torch.equal(win[:, i, f * n:(f + 1) * n], want)
    with pytest.raises(ValueError, match="CTL.GCL.WINDOW"):
        sliding_windows(x, 2)


def test_degree_normalization_matches_loops():
    a = torch.rand(2, 6, 6) * 2 - 0.5
    a[1, 0] = -1.0  # a row with negative degree: floored at 1
    out = normalize_adjacency(a)
    for k in range(2):
        deg = [max(float(a[k, i].sum()), 1.0) for i in range(6)]
        for i in range(6):
            for j in range(6):
                assert abs(out[k, i, j] - a[k, i, j] / (deg[i] ** 0.5 * deg[j] ** 0.5)) < 1e-5


def test_block_expansion_is_per_scale_dense_linear():
    groups = torch.tensor([0, 0, 0, 1, 1])
    exp = BlockDiagonalExpansion(groups)
    assert exp.weight.numel() == 3 ** 3 + 2 ** 3 and exp.bias.numel() == 3 ** 2 + 2 ** 2
    v = torch.randn(4, 5)
    out = exp(v)
    w, bias = exp.dense()
    for i in range(5):
        for j in range(5):
            if groups[i] != groups[j]:
                assert torch.all(out[:, i, j] == 0) and torch.all(w[i, j] == 0)
                continue
            want = bias[i, j] + sum(w[i, j, k] * v[:, k] for k in range(5) if groups[k] == groups[i])
            assert torch.allclose(out[:, i, j], want, atol=ATOL)
            assert torch.all(w[i, j][groups != groups[i]] == 0)


def test_fig4a_context_block_matches_loops():
    b, t, c = 2, 3, 4
    groups = torch.tensor([0, 0, 0, 1, 1])
    block = ContextBlock(c, groups, num_frames=t)
    x = torch.randn(b, t, 5, c)
    out = block(x)
    assert out.shape == (b, 1, 5, 5)
    w, bias = block.expand.dense()
    for i in range(b):
        vec = torch.zeros(5)
        for n in range(5):
            g = groups[n]
            vec[n] = sum(block.squeeze_time[g, f] * (x[i, f, n] @ block.squeeze_feature[g]) for f in range(t))
        mat = torch.einsum("ijk,k->ij", w, vec) + bias
        mat = mat / mat.norm(dim=1, keepdim=True)
        assert torch.allclose(out[i, 0], mat, atol=ATOL)
        assert torch.allclose(out[i, 0].norm(dim=1), torch.ones(5), atol=ATOL)
    with pytest.raises(ValueError, match="VIDEO.TEST.SEQ_LEN"):
        block(torch.randn(b, t + 1, 5, c))


def test_fig4b_context_block_per_window_and_per_scale():
    b, t, c, tau = 2, 4, 3, 3
    groups = torch.tensor([0, 0, 1])
    block = ContextBlock(c, groups, window=tau)
    x = torch.randn(b, t, 3, c)
    out = block(x)
    assert out.shape == (b, t, tau * 3, tau * 3)
    w, bias = block.expand.dense()
    for i in range(b):
        for k in range(t):
            vec = torch.zeros(tau * 3)
            for f in range(tau):
                src = k - 1 + f
                for n in range(3):
                    if 0 <= src < t:
                        vec[f * 3 + n] = x[i, src, n] @ block.squeeze_feature[groups[n]]
            mat = torch.einsum("ijk,k->ij", w, vec) + bias
            assert torch.allclose(out[i, k], mat / mat.norm(dim=1, keepdim=True), atol=ATOL)
    # a scale's A^c depends on that scale's nodes only
    y = x.clone()
    y[:, :, 2] += 1.0
    changed = (block(y) - out).abs() > 1e-6
    scale0 = groups.repeat(tau) == 0
    assert not changed[:, :, scale0][:, :, :, scale0].any()


@pytest.mark.parametrize("tau", [1, 3])
def test_eq3_eq4_graph_conv3d_matches_loops(tau):
    b, t, c = 2, 4, 3
    scales = ("s3", "s2")
    physical = torch.block_diag(*[torch.from_numpy(skeleton.physical_adjacency(s)) for s in scales])
    groups = torch.tensor([0] * 5 + [1] * 10)
    n = 15
    layer = randomize_bn(GraphConvLayer(c, physical, groups, "3d", tau, t))
    with torch.no_grad():
        layer.mask.uniform_(-0.3, 0.3)
    x = torch.randn(b, t, n, c)
    out = layer(x)
    ctx = layer.context(x)
    mask = layer.mask * (groups[:, None] == groups[None, :])
    wt = layer.transform.weight.t()
    wc = layer.collapse.weight.t().reshape(tau, c, c)  # [window frame, in, out]
    for i in range(b):
        for k in range(t):
            a = torch.zeros(tau * n, tau * n)
            for fi in range(tau):
                for fj in range(tau):
                    a[fi * n:(fi + 1) * n, fj * n:(fj + 1) * n] = physical + torch.eye(n) + mask
            a = a + ctx[i, k]
            deg = a.sum(1).clamp(min=1.0)
            a_norm = a / deg.sqrt()[:, None] / deg.sqrt()[None, :]
            xw = torch.zeros(tau * n, c)
            for f in range(tau):
                src = k - tau // 2 + f
                if 0 <= src < t:
                    xw[f * n:(f + 1) * n] = x[i, src]
            y = torch.relu(a_norm @ xw @ wt)
            for node in range(n):
                z = sum(y[f * n + node] @ wc[f] for f in range(tau))
                assert torch.allclose(out[i, k, node], torch.relu(bn_eval(layer.bn, z)), atol=ATOL)


def test_frame_mode_is_plain_gcn():
    b, t, c = 2, 3, 4
    physical = torch.from_numpy(skeleton.physical_adjacency("s2"))
    layer = GraphConvLayer(c, physical, torch.zeros(10, dtype=torch.long), "frame", 3, t)
    with torch.no_grad():
        layer.mask.uniform_(-0.3, 0.3)
    x = torch.randn(b, t, 10, c)
    out = layer(x)
    ctx = layer.context(x)
    for i in range(b):
        a = physical + layer.mask + ctx[i, 0] + torch.eye(10)
        deg = a.sum(1).clamp(min=1.0)
        a = a / deg.sqrt()[:, None] / deg.sqrt()[None, :]
        for k in range(t):
            assert torch.allclose(out[i, k], torch.relu(a @ x[i, k] @ layer.transform.weight.t()), atol=ATOL)


@pytest.mark.parametrize("bn_per_scale", [True, False])
def test_eq5_eq6_cross_scale_matches_loops(bn_per_scale):
    b, t, c, e = 2, 2, 5, 3
    cs = randomize_bn(CrossScaleGraphConv(c, e, bn_per_scale=bn_per_scale))
    xs, xd = torch.randn(b, t, 4, c), torch.randn(b, t, 3, c)
    out = cs(xs, xd)
    assert out.shape == (b, t, 3, c)
    assert len(cs.phi.bns) == len(cs.varphi.bns) == (2 if bn_per_scale else 1)

    def fc_bn_relu(mod, v, bn=0):
        return torch.relu(bn_eval(mod.bns[bn], mod.fc(v)))

    def relation(rel, x, scale):
        bn = scale if bn_per_scale else 0  # phi and varphi: one FC, a BN per scale or one for both
        r = []
        for i in range(len(x)):
            p = sum(fc_bn_relu(rel.h, torch.cat([fc_bn_relu(cs.phi, x[i], bn), fc_bn_relu(cs.varphi, x[j] - x[i], bn)]))
                    for j in range(len(x)))
            r.append(fc_bn_relu(rel.f, torch.cat([x[i], p])))
        return r

    for i in range(b):
        for k in range(t):
            rs, rd = relation(cs.relation_src, xs[i, k], 0), relation(cs.relation_dst, xd[i, k], 1)
            for m in range(3):
                logits = torch.stack([rd[m] @ rs[j] for j in range(4)])
                att = torch.softmax(logits, 0)
                want = torch.relu(sum(att[j] * xs[i, k, j] for j in range(4)) @ cs.transform.weight.t())
                assert torch.allclose(out[i, k, m], want, atol=ATOL)


def test_eq7_combination_with_averaging_and_alpha():
    b, t, c = 2, 3, 4
    head = CTLGraph(c, scales=("s3", "s1", "s2"), gcl_mode="none", cross_scale=False, alpha=0.3)
    fmaps = torch.randn(b, t, c, 4, 2)
    heat = torch.softmax(torch.randn(b, t, 17, 8), -1).view(b, t, 17, 4, 2)
    _, nodes = head.part_features(fmaps, heat)
    _, vp = head(fmaps, heat)
    x3, x1, x2 = nodes[:, :, :5], nodes[:, :, 5:22], nodes[:, :, 22:]
    for p, g10 in enumerate(skeleton.PARTS_5_OF_10):
        kps = [k for q in g10 for k in skeleton.PARTS_10[q]]
        want = x3[:, :, p] + 0.3 * (x1[:, :, kps].mean(2) + x2[:, :, list(g10)].mean(2))
        assert torch.allclose(vp[:, :, p], want, atol=ATOL)


def test_fusion_branches_match_definitions():
    b, t, c = 2, 3, 12
    fusion = FusionBlock(c, 5)  # 12 // 5 = 2 channels per part, 2 channels padded
    vg, vp = torch.randn(b, t, c), torch.randn(b, t, 5, c)
    out = fusion(vg, vp)
    assert torch.allclose(out["g"], vg.mean(1), atol=ATOL)
    assert torch.allclose(out["a"], (vp.sum(2) + vg).mean(1), atol=ATOL)
    for i in range(b):
        acc = torch.zeros(c)
        for k in range(t):
            cat = torch.cat([fusion.reduce.weight @ vp[i, k, n] for n in range(5)] + [torch.zeros(2)])
            acc += cat + vg[i, k]
        assert torch.allclose(out["c"][i], acc / t, atol=ATOL)


def test_eq8_diversity_loss_matches_loops():
    vp = torch.randn(3, 4, 5, 6)
    loss = diversity_loss(vp)
    total = 0.0
    for i in range(3):
        v = vp[i].mean(0)
        v = v / v.norm(dim=1, keepdim=True)
        total += sum((float(v[m] @ v[n]) - (m == n)) ** 2 for m in range(5) for n in range(5))
    assert abs(float(loss) - total / 3) < 1e-4
    orth = torch.eye(5, 6).expand(2, 3, 5, 6)
    assert float(diversity_loss(orth)) == pytest.approx(0.0, abs=1e-6)
