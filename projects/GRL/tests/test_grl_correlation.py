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
