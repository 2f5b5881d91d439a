import torch

from projects.GRL.grl.reciprocal import ReciprocalStep, TemporalReciprocalLearning

B, T, C, H, W = 2, 4, 16, 3, 2


def clip(seed):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(B, T, C, H, W, generator=generator, dtype=torch.float64)


def test_trl_step_matches_direct_computation(frozen_random, naive_bn):
    step = frozen_random(ReciprocalStep(C, reduction=4))
    memory, high, low = clip(0)[:, 0], clip(1)[:, 0], clip(2)[:, 0]
    enhanced, new_memory = step(memory, high, low)
    assert enhanced.shape == (B, C) and new_memory.shape == (B, C, H, W)

    phi, psi = step.memory_proj[0], step.frame_proj[0]
    fc1, fc2 = step.channel_gate[0], step.channel_gate[2]
    conv1, bn1, _, conv2, bn2, _, conv3, bn3 = step.accumulate.bottleneck
    for i in range(B):
        discrepancy = torch.zeros(C, dtype=torch.float64)
        for y in range(H):
            for x in range(W):
                m = torch.relu(phi.weight[:, :, 0, 0] @ memory[i, :, y, x] + phi.bias)
                f = torch.relu(psi.weight[:, :, 0, 0] @ high[i, :, y, x] + psi.bias)
                discrepancy += (m - f) ** 2 / (H * W)
        gate = torch.sigmoid(fc2.weight @ torch.relu(fc1.weight @ discrepancy))
        expected = torch.zeros(C, dtype=torch.float64)
        for y in range(H):
            for x in range(W):
                expected += high[i, :, y, x] * (1 + gate) / (H * W)
                merged = memory[i, :, y, x] + low[i, :, y, x]
                z = torch.relu(naive_bn(conv1.weight[:, :, 0, 0] @ merged, bn1))
                z = torch.relu(naive_bn(conv2.weight[:, :, 0, 0] @ z, bn2))
                z = naive_bn(conv3.weight[:, :, 0, 0] @ z, bn3)
                torch.testing.assert_close(new_memory[i, :, y, x], torch.relu(merged + z))
        torch.testing.assert_close(enhanced[i], expected)
        assert (gate - gate.mean()).abs().max() > 1e-4  # a real per-channel attention


def test_trl_runs_forward_then_backward_and_aligns_frames(frozen_random):
    trl = frozen_random(TemporalReciprocalLearning(C, reduction=4))
    high, low = clip(3), clip(4)
    frames, low_feature = trl(high, low)
    assert frames.shape == (B, T, C) and low_feature.shape == (B, C)

    expected = [0] * T
    memory = low.mean(dim=1)
    for t in range(T):
        out, memory = trl.forward_step(memory, high[:, t], low[:, t])
        expected[t] = expected[t] + out
    expected_low = memory.mean(dim=(2, 3))
    memory = low.mean(dim=1)
    for t in reversed(range(T)):
        out, memory = trl.backward_step(memory, high[:, t], low[:, t])
        expected[t] = expected[t] + out
    expected_low = expected_low + memory.mean(dim=(2, 3))
    torch.testing.assert_close(frames, torch.stack(expected, dim=1))
    torch.testing.assert_close(low_feature, expected_low)


def test_directions_visit_time_in_opposite_orders(frozen_random):
    trl = frozen_random(TemporalReciprocalLearning(C, reduction=4))
    high, low = clip(5), clip(6)
    reverse = torch.arange(T - 1, -1, -1)
    # distinct weights: reversing time is not a symmetry
    frames, _ = trl(high, low)
    frames_rev, _ = trl(high[:, reverse], low[:, reverse])
    assert (frames_rev[:, reverse] - frames).abs().max() > 1e-4
    fwd, _ = trl.run_direction(trl.forward_step, high, low, range(T))
    bwd, _ = trl.run_direction(trl.backward_step, high, low, reversed(range(T)))
    assert (fwd - bwd).abs().max() > 1e-4

    # same weights in both directions: the two passes differ only by their order,
    # so reversing the clip swaps them and the sum is time-reversal equivariant
    trl.backward_step.load_state_dict(trl.forward_step.state_dict())
    fwd, fwd_low = trl.run_direction(trl.forward_step, high, low, range(T))
    bwd, bwd_low = trl.run_direction(trl.backward_step, high, low, reversed(range(T)))
    assert (fwd - bwd).abs().max() > 1e-4  # a memory of the past is not a memory of the future
    torch.testing.assert_close(fwd[:, 0], trl.forward_step(low.mean(1), high[:, 0], low[:, 0])[0])
    torch.testing.assert_close(bwd[:, T - 1], trl.forward_step(low.mean(1), high[:, T - 1], low[:, T - 1])[0])
    frames, low_feature = trl(high, low)
    frames_rev, low_rev = trl(high[:, reverse], low[:, reverse])
    torch.testing.assert_close(frames_rev[:, reverse], frames)
    torch.testing.assert_close(low_rev, low_feature)


def test_both_directions_receive_gradients():
    torch.manual_seed(0)
    trl = TemporalReciprocalLearning(C, reduction=4)
    high = torch.rand(B, T, C, H, W, requires_grad=True)
    low = torch.rand(B, T, C, H, W, requires_grad=True)
    frames, low_feature = trl(high, low)
    (frames.pow(2).sum() + low_feature.pow(2).sum()).backward()
    for name, param in trl.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert high.grad.abs().sum() > 0 and low.grad.abs().sum() > 0
    # every frame's low-correlation map reaches the result through the memories
    assert (low.grad.abs().sum(dim=(0, 2, 3, 4)) > 0).all()


def naive_direction(step, high, low, order):
    """One direction as the paper writes it: psi(H_t) inside the recurrence, mean_hw[H_t * (1 + a)]."""
    memory, outputs = low.mean(dim=1), [None] * high.shape[1]
    for t in order:
        discrepancy = (step.memory_proj(memory) - step.frame_proj(high[:, t])).pow(2).mean(dim=(2, 3))
        gate = step.channel_gate(discrepancy)
        outputs[t] = (high[:, t] * (1 + gate[:, :, None, None])).mean(dim=(2, 3))
        memory = step.accumulate(memory, low[:, t])
    return torch.stack(outputs, dim=1), memory.mean(dim=(2, 3))


def test_trl_outputs_and_gradients_equal_the_step_by_step_computation():
    """psi(H_t) of all frames in one convolution and (1 + a) mean_hw[H_t] change nothing:
    outputs and every gradient (parameters, both inputs) equal the direct recurrence, in
    training mode (batch statistics)."""
    torch.manual_seed(0)
    trl = TemporalReciprocalLearning(C, reduction=4).double().train()
    high, low = clip(7).requires_grad_(), clip(8).requires_grad_()
    upstream = torch.randn(B, T, C, dtype=torch.float64), torch.randn(B, C, dtype=torch.float64)

    def grads(run):
        trl.zero_grad()
        high.grad = low.grad = None
        fwd, fwd_low = run(trl.forward_step, high, low, range(T))
        bwd, bwd_low = run(trl.backward_step, high, low, reversed(range(T)))
        frames, low_feature = fwd + bwd, fwd_low + bwd_low
        ((frames * upstream[0]).sum() + (low_feature * upstream[1]).sum()).backward()
        return [frames.detach(), low_feature.detach(), high.grad, low.grad] + [p.grad for p in trl.parameters()]

    state = {k: v.clone() for k, v in trl.state_dict().items()}
    ours = grads(trl.run_direction)
    trl.load_state_dict(state)  # the same running statistics before the reference pass
    reference = grads(naive_direction)
    assert len(ours) == len(reference) == 4 + len(list(trl.parameters()))
    for got, expected in zip(ours, reference):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)
    frames, _ = trl(high, low)
    torch.testing.assert_close(frames, ours[0])
