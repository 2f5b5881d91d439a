import torch

from projects.GRL.grl.correlation import GlobalGuidedCorrelation


def test_gce_matches_direct_computation(frozen_random, naive_bn):
    torch.manual_seed(0)
    b, t, c, h, w = 2, 3, 16, 3, 2
    gce = frozen_random(GlobalGuidedCorrelation(c))
    fmaps = torch.randn(b, t, c, h, w, dtype=torch.float64)
    high, low, corr = gce(fmaps)
    assert high.shape == low.shape == (b, t, c, h, w) and corr.shape == (b, t, 1, h, w)

    fc, fc_bn = gce.global_embed[0], gce.global_embed[1]
    conv1, bn1, conv2, bn2, _, conv3, bn3 = gce.estimator
    for i in range(b):
        total = torch.zeros(c, dtype=torch.float64)
        for j in range(t):
            for y in range(h):
                for x in range(w):
                    total += fmaps[i, j, :, y, x]
        guide = torch.relu(naive_bn(fc.weight @ (total / (t * h * w)) + fc.bias, fc_bn))
        for j in range(t):
            for y in range(h):
                for x in range(w):
                    local = fmaps[i, j, :, y, x]
                    s = naive_bn(conv1.weight[:, :, 0, 0] @ torch.cat((local, guide)), bn1)
                    s = torch.relu(naive_bn(conv2.weight[:, :, 0, 0] @ s, bn2))
                    s = naive_bn(conv3.weight[:, :, 0, 0] @ s, bn3)
                    r = 1 / (1 + torch.exp(-s))
                    torch.testing.assert_close(corr[i, j, :, y, x], r)
                    torch.testing.assert_close(high[i, j, :, y, x], r * local)
                    torch.testing.assert_close(low[i, j, :, y, x], (1 - r) * local)
    assert 0 < corr.min() and corr.max() < 1
    assert corr.std() > 1e-3  # the map really varies over locations


def test_gce_is_guided_by_its_own_clip_only(frozen_random):
    torch.manual_seed(1)
    gce = frozen_random(GlobalGuidedCorrelation(16))
    fmaps = torch.randn(2, 3, 16, 3, 2, dtype=torch.float64)
    _, _, corr = gce(fmaps)
    changed = fmaps.clone()
    changed[0, 2] += torch.randn(16, 3, 2, dtype=torch.float64)
    _, _, corr_changed = gce(changed)
    # another frame of clip 0 moved the global feature, hence the map of frame 0 ...
    assert (corr_changed[0, 0] - corr[0, 0]).abs().max() > 1e-4
    # ... while clip 1 is untouched
    torch.testing.assert_close(corr_changed[1], corr[1])


def test_gce_outputs_and_gradients_equal_the_concatenation():
    """W_g g once per clip is the first convolution of the concatenation [f; g] at every
    location: outputs and every gradient are those of that convolution, in training mode."""
    torch.manual_seed(2)
    gce = GlobalGuidedCorrelation(16).double().train()
    fmaps = torch.randn(2, 3, 16, 3, 2, dtype=torch.float64, requires_grad=True)
    upstream = [torch.randn(2, 3, *shape, 3, 2, dtype=torch.float64) for shape in ((16,), (16,), (1,))]

    def concatenated(x):
        b, t, c, h, w = x.shape
        guide = gce.global_embed(x.mean(dim=(1, 3, 4)))
        guide = guide[:, None, :, None, None].expand(b, t, guide.shape[1], h, w)
        corr = torch.sigmoid(gce.estimator(torch.cat((x, guide), dim=2).flatten(0, 1))).unflatten(0, (b, t))
        return x * corr, x * (1 - corr), corr

    def run(fn):
        gce.zero_grad()
        fmaps.grad = None
        outputs = fn(fmaps)
        sum((o * u).sum() for o, u in zip(outputs, upstream)).backward()
        return [o.detach() for o in outputs] + [fmaps.grad] + [p.grad for p in gce.parameters()]

    state = {k: v.clone() for k, v in gce.state_dict().items()}
    ours = run(gce)
    gce.load_state_dict(state)
    for got, expected in zip(ours, run(concatenated)):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)
