import pytest
import torch
import torch.nn.functional as F

from projects.GRL.grl.attention_pooling import TemporalSelfAttentionPooling
from projects.GRL.grl.oim_loss import OIMLoss, occurrence_index
from projects.GRL.grl.verification import PairVerification, verification_loss


def test_occurrence_index_counts_earlier_samples_of_the_same_target():
    targets = torch.tensor([4, 1, 4, 4, 0, 1, 7])
    expected = [sum(int(targets[j] == targets[i]) for j in range(i)) for i in range(len(targets))]
    assert occurrence_index(targets).tolist() == expected == [0, 0, 1, 2, 0, 1, 0]


def test_oim_logits_loss_and_gradient_match_direct_computation():
    torch.manual_seed(0)
    oim = OIMLoss(num_features=6, num_classes=5, scale=30.0, momentum=0.5).double()
    oim.lut.copy_(F.normalize(torch.randn(5, 6, dtype=torch.float64), dim=1))
    features = F.normalize(torch.randn(4, 6, dtype=torch.float64), dim=1).requires_grad_()
    targets = torch.tensor([3, 0, 3, 1])
    loss, logits = oim(features, targets)
    expected_loss = 0
    for i in range(4):
        row = [30.0 * sum(features[i, k] * oim.lut[c, k] for k in range(6)) for c in range(5)]
        torch.testing.assert_close(logits[i], torch.stack(row))
        expected_loss = expected_loss - torch.log(torch.exp(row[targets[i]]) / sum(torch.exp(v) for v in row)) / 4
    torch.testing.assert_close(loss, expected_loss)
    loss.backward()
    probs = torch.softmax(logits.detach(), dim=1)
    onehot = F.one_hot(targets, 5).double()
    torch.testing.assert_close(features.grad, 30.0 * (probs - onehot) @ oim.lut / 4)
    assert oim.lut.grad is None


def test_oim_update_is_the_sequential_moving_average():
    torch.manual_seed(1)
    oim = OIMLoss(num_features=6, num_classes=5, scale=30.0, momentum=0.3).double()
    oim.lut.copy_(F.normalize(torch.randn(5, 6, dtype=torch.float64), dim=1))
    oim.lut[4] = 0  # an identity never seen before
    expected = oim.lut.clone()
    features = torch.randn(7, 6, dtype=torch.float64)
    targets = torch.tensor([2, 4, 2, 0, 2, 4, 1])
    for x, y in zip(features, targets):
        v = 0.3 * expected[y] + 0.7 * x
        expected[y] = v / v.norm()
    oim.update(features, targets)
    torch.testing.assert_close(oim.lut, expected)
    assert oim.lut[3].tolist() == expected[3].tolist()  # untouched row


def test_oim_backward_after_update_uses_the_table_of_the_forward():
    oim = OIMLoss(num_features=3, num_classes=2, scale=10.0, momentum=0.5)
    oim.lut.copy_(torch.eye(3)[:2])
    features = torch.tensor([[0.0, 0.0, 1.0]], requires_grad=True)
    loss, _ = oim(features, torch.tensor([1]))
    oim.update(features, torch.tensor([1]))
    loss.backward()
    # logits were 0 for both classes: gradient 10 * (0.5 * e0 + 0.5 * e1 - e1) / 1
    torch.testing.assert_close(features.grad, torch.tensor([[5.0, -5.0, 0.0]]))


def test_oim_rejects_targets_outside_the_table():
    oim = OIMLoss(num_features=3, num_classes=2, scale=10.0, momentum=0.5)
    with pytest.raises(ValueError, match="MODEL.HEADS.NUM_CLASSES"):
        oim(torch.ones(1, 3), torch.tensor([2]))
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        oim.update(torch.ones(1, 3), torch.tensor([-1]))


def test_verification_matches_direct_computation(frozen_random, naive_bn):
    torch.manual_seed(2)
    verify = frozen_random(PairVerification(5))
    verify.classifier.weight.data.normal_()
    probe, gallery = torch.randn(3, 5, dtype=torch.float64), torch.randn(2, 5, dtype=torch.float64)
    logits = verify(probe, gallery)
    assert logits.shape == (3, 2, 2)
    probe_targets, gallery_targets = torch.tensor([7, 1, 7]), torch.tensor([7, 3])
    expected_loss = 0
    for i in range(3):
        for j in range(2):
            z = verify.classifier.weight @ naive_bn((probe[i] - gallery[j]) ** 2, verify.norm) + verify.classifier.bias
            torch.testing.assert_close(logits[i, j], z)
            same_probability = torch.exp(z[1]) / (torch.exp(z[0]) + torch.exp(z[1]))
            label = float(probe_targets[i] == gallery_targets[j])
            expected_loss = expected_loss - (label * torch.log(same_probability)
                                             + (1 - label) * torch.log(1 - same_probability)) / 6
    torch.testing.assert_close(verification_loss(logits, probe_targets, gallery_targets), expected_loss)


def test_attention_pooling_matches_direct_computation(frozen_random, naive_bn):
    torch.manual_seed(3)
    pool = frozen_random(TemporalSelfAttentionPooling(6, dim=4))
    frames = torch.randn(2, 3, 6, dtype=torch.float64)
    pooled = pool(frames)
    assert pooled.shape == (2, 6)
    (q_fc, q_bn), (k_fc, k_bn) = pool.query, pool.key
    for b in range(2):
        q = [F.normalize(naive_bn(q_fc.weight @ f + q_fc.bias, q_bn), dim=0) for f in frames[b]]
        k = [F.normalize(naive_bn(k_fc.weight @ f + k_fc.bias, k_bn), dim=0) for f in frames[b]]
        total = torch.zeros(6, dtype=torch.float64)
        for i in range(3):
            scores = torch.stack([q[i] @ k[j] for j in range(3)])
            weights = torch.exp(scores) / torch.exp(scores).sum()
            for j in range(3):
                total += weights[j] * frames[b, j]
        torch.testing.assert_close(pooled[b], total / total.norm())
