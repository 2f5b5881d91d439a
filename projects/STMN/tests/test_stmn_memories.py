"""Both memories and the spread loss against direct loop computations (Eq. 1-8)."""
import math

import pytest
import torch

from projects.STMN.stmn.spatial_memory import SpatialMemory
from projects.STMN.stmn.spread_loss import memory_spread_loss
from projects.STMN.stmn.temporal_memory import TemporalMemory


def loop_addressing(query, keys):
    """Eq. 1 / Eq. 5 for one query, with explicit sums."""
    def norm(v):
        return math.sqrt(sum(float(x) ** 2 for x in v))
    cos = [sum(float(a) * float(b) for a, b in zip(query, k)) / (norm(query) * norm(k)) for k in keys]
    exps = [math.exp(c) for c in cos]
    return [e / sum(exps) for e in exps]


def test_spatial_memory_matches_loops():
    torch.manual_seed(0)
    n, c, h, w, m = 2, 4, 3, 2, 5
    memory = SpatialMemory(c, m).eval()
    with torch.no_grad():
        memory.read_norm.weight.copy_(torch.tensor([1.5, -0.5, 2.0, 0.7]))
        memory.read_norm.bias.copy_(torch.tensor([0.1, 0.2, -0.3, 0.4]))
        memory.read_norm.running_mean.copy_(torch.tensor([0.3, -0.1, 0.0, 0.2]))
        memory.read_norm.running_var.copy_(torch.tensor([0.5, 2.0, 1.0, 1.5]))
    queries, values = torch.randn(n, c, h, w), torch.randn(n, c, h, w)
    with torch.no_grad():
        out = memory(queries, values)
    assert out["features"].shape == (n, c) and out["addressing"].shape == (n, h, w, m)

    bn = memory.read_norm
    gamma, beta, mean, var = (x.detach() for x in (bn.weight, bn.bias, bn.running_mean, bn.running_var))
    keys, items = memory.keys.detach(), memory.values.detach()
    for i in range(n):
        refined = [0.0] * c
        for y in range(h):
            for x in range(w):
                p = loop_addressing(queries[i, :, y, x], keys)
                assert out["addressing"][i, y, x].tolist() == pytest.approx(p, abs=1e-6)
                for ch in range(c):
                    read = sum(p[j] * float(items[j, ch]) for j in range(m))
                    read = (read - float(mean[ch])) / math.sqrt(float(var[ch]) + bn.eps)
                    read = read * float(gamma[ch]) + float(beta[ch])
                    refined[ch] += (float(values[i, ch, y, x]) - read) / (h * w)
        assert out["features"][i].tolist() == pytest.approx(refined, abs=1e-5)


def test_spatial_memory_starts_as_identity_on_pooled_values():
    memory = SpatialMemory(8, 4).train()
    values = torch.randn(3, 8, 4, 2)
    out = memory(torch.randn(3, 8, 4, 2), values)
    assert torch.allclose(out["features"], values.mean(dim=(2, 3)), atol=1e-6)


def loop_lstm_last(lstm, sequence):
    """The last output of a one-layer LSTM, step by step (i, f, g, o gates)."""
    hidden = lstm.hidden_size
    h = torch.zeros(hidden)
    cell = torch.zeros(hidden)
    for x in sequence:
        gates = lstm.weight_ih_l0 @ x + lstm.bias_ih_l0 + lstm.weight_hh_l0 @ h + lstm.bias_hh_l0
        i, f, g, o = gates.split(hidden)
        cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(cell)
    return h


def test_temporal_memory_matches_loops():
    torch.manual_seed(1)
    b, t, c, n = 3, 4, 5, 3
    memory = TemporalMemory(c, n, t)
    keys, frames = torch.randn(b, t, c), torch.randn(b, t, c)
    out = memory(keys, frames)
    assert out["features"].shape == (b, c)
    assert out["addressing"].shape == (b, n) and out["attention"].shape == (b, t)
    with torch.no_grad():
        for i in range(b):
            query = loop_lstm_last(memory.lstm, keys[i])
            p = loop_addressing(query, memory.keys)
            assert out["addressing"][i].tolist() == pytest.approx(p, abs=1e-5)
            logits = [sum(p[j] * float(memory.values[j, s]) for j in range(n)) for s in range(t)]
            exps = [math.exp(v) for v in logits]
            attention = [e / sum(exps) for e in exps]
            assert out["attention"][i].tolist() == pytest.approx(attention, abs=1e-5)
            feature = [sum(attention[s] * float(frames[i, s, ch]) for s in range(t)) for ch in range(c)]
            assert out["features"][i].tolist() == pytest.approx(feature, abs=1e-5)


def test_temporal_memory_rejects_wrong_clip_length():
    memory = TemporalMemory(4, 2, seq_len=6)
    with pytest.raises(ValueError, match="VIDEO.TRAIN.SEQ_LEN = 6"):
        memory(torch.randn(2, 4, 4), torch.randn(2, 4, 4))


def loop_spread(addressing, margin):
    queries, items = addressing.shape
    total = 0.0
    for j in range(items):
        column = [float(addressing[q, j]) for q in range(queries)]
        total += max(0.0, min(column) - max(column) + margin)
    return total / items


def test_spread_loss_matches_loops():
    torch.manual_seed(2)
    addressing = torch.randn(7, 5).softmax(dim=1)
    for margin in (0.05, 0.3, 0.9):
        assert float(memory_spread_loss(addressing, margin)) == pytest.approx(loop_spread(addressing, margin), abs=1e-7)


def test_spread_loss_is_zero_exactly_when_every_item_is_spread():
    margin = 0.3
    # Each item is read with 0.7 by one query and 0.075 by the others: range 0.625 >= margin.
    spread = torch.full((4, 4), 0.1).fill_diagonal_(0.7)
    assert float(memory_spread_loss(spread, margin)) == 0.0
    # Range exactly the margin: still zero.
    exact = torch.tensor([[0.65, 0.35], [0.35, 0.65]])
    assert float(memory_spread_loss(exact, margin)) == pytest.approx(0.0, abs=1e-7)
    # Uniform addressing: every item has range 0, loss = margin.
    uniform = torch.full((6, 5), 0.2)
    assert float(memory_spread_loss(uniform, margin)) == pytest.approx(margin)
    # Item 1 is read with 0.25-0.35 only (range 0.1): loss (0.3 - 0.1) / 3 from that item alone.
    narrow = torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.35, 0.55], [0.05, 0.25, 0.7]])
    assert float(memory_spread_loss(narrow, margin)) == pytest.approx(0.2 / 3)
    assert float(memory_spread_loss(narrow, margin)) == pytest.approx(loop_spread(narrow, margin))


def test_spread_loss_needs_two_queries():
    with pytest.raises(ValueError, match="at least 2 queries"):
        memory_spread_loss(torch.full((1, 3), 1 / 3), 0.3)


def test_gradients_reach_both_memories():
    torch.manual_seed(3)
    c, t = 6, 3
    smem, tmem = SpatialMemory(c, 4).train(), TemporalMemory(c, 3, t)
    with torch.no_grad():  # a non-zero BN so the spatial read-out reaches the features
        smem.read_norm.weight.fill_(1.0)
    spatial = smem(torch.randn(2 * t, c, 2, 2), torch.randn(2 * t, c, 2, 2))
    temporal = tmem(torch.randn(2, t, c), spatial["features"].view(2, t, c))
    loss = temporal["features"].square().sum() + memory_spread_loss(spatial["addressing"], 0.3) \
        + memory_spread_loss(temporal["addressing"], 0.3)
    loss.backward()
    for name, param in [("spatial keys", smem.keys), ("spatial values", smem.values),
                        ("temporal keys", tmem.keys), ("temporal values", tmem.values)]:
        assert param.grad is not None and param.grad.abs().sum() > 0, name
