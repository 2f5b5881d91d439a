"""SEED makes a run repeatable: the same seed gives the same weights and numbers on CPU,
whatever the number of loader workers, and a run killed mid-training and resumed ends
bit-identical to an uninterrupted one."""
import os
import signal
import subprocess
import sys
import time

from ctl_plugin import engine
from ctl_plugin.config import build_cfg
from ctl_plugin.data import build_video_train_loader
from ctl_plugin.data.seeded_sampling import SeededBatchSampler, draw_seed
from ctl_plugin.engine.defaults import use_deterministic_cpu_kernels

import torch
from fastreid.utils.events import EventStorage

from tests.test_train_net import parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = ["SOLVER.CHECKPOINT_PERIOD", "2", "TEST.EVAL_PERIOD", "100", "SOLVER.IMS_PER_BATCH", "4"]



def weights(path):
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, different[:5]


def test_draw_seeds_depend_on_seed_rank_and_draw_only():
    assert draw_seed(0, 0, 5) == draw_seed(0, 0, 5)
    assert len({draw_seed(s, r, d) for s in (0, 1) for r in (0, 1) for d in range(50)}) == 200
    assert 0 <= draw_seed(123, 1, 7) < 2 ** 63


def test_skipped_batches_equal_the_tail_of_a_full_pass():
    class Counter:
        def __iter__(self):
            i = 0
            while True:
                yield i * 7 % 11
                i += 1

    full = SeededBatchSampler(Counter(), 3, seed=4)
    batches = [b for _, b in zip(range(6), full)]
    resumed = SeededBatchSampler(Counter(), 3, seed=4)
    resumed.skip(4)
    assert [b for _, b in zip(range(2), resumed)] == batches[4:]
    assert len({s for b in batches for _, s in b}) == 18  # every draw has its own seed


def test_batches_do_not_depend_on_the_number_of_workers(mars_root):
    def first_batches(workers):
        cfg = engine.setup(parse(mars_root / f"out{workers}", "DATALOADER.NUM_WORKERS", str(workers), *RUN))
        it = iter(build_video_train_loader(cfg))
        return [next(it) for _ in range(3)]

    for a, b in zip(first_batches(0), first_batches(2)):
        assert torch.equal(a["images"], b["images"]) and torch.equal(a["targets"], b["targets"])


def test_same_seed_same_run_other_seed_other_run(mars_root):
    runs = {}
    for name, seed in (("a", "0"), ("b", "0"), ("c", "1")):
        out = mars_root / name
        results = engine.main(parse(out, "SEED", seed, "SOLVER.MAX_EPOCH", "2", *RUN))
        runs[name] = (weights(out / "model_final.pth"), results["mAP"], results["Rank-1"])
    assert_same_weights(runs["a"][0], runs["b"][0])
    assert runs["a"][1:] == runs["b"][1:]
    assert any(not torch.equal(runs["a"][0][k], runs["c"][0][k]) for k in runs["a"][0])


def test_negative_seed_is_drawn_and_recorded(mars_root):
    cfg = engine.setup(parse(mars_root / "out", "SEED", "-1"))
    assert cfg.SEED >= 0
    with open(mars_root / "out" / "config.yaml") as f:
        assert f"SEED: {cfg.SEED}" in f.read()


def test_killed_then_resumed_ends_bit_identical(mars_root):
    """kill -9 after the epoch-2 checkpoint, then --resume: the same final weights as a
    run that was never interrupted (loader workers, random erasing and flips on)."""
    budget = ["SOLVER.MAX_EPOCH", "4", "DATALOADER.NUM_WORKERS", "1", *RUN]
    straight = mars_root / "straight"
    engine.main(parse(straight, *budget))

    killed = mars_root / "killed"
    args = parse(killed, *budget)
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "train_net.py"), "--config-file", args.config_file,
                             *args.opts], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (killed / "model_0001.pth").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (killed / "model_0001.pth").exists(), "the run died before its first checkpoint"
    assert not (killed / "model_final.pth").exists(), "the run ended before it was killed"

    resumed = parse(killed, *budget)
    resumed.resume = True
    engine.main(resumed)
    assert_same_weights(weights(straight / "model_final.pth"), weights(killed / "model_final.pth"))


def ctl_gradients(cfg, batch):
    torch.manual_seed(0)
    model = engine.VideoTrainer.build_model(cfg).train()
    with EventStorage(0):
        sum(model(batch).values()).backward()
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


def test_ctl_gradients_do_not_depend_on_thread_timing():
    """Two threads, one seed: CTL's gradients are the same bits every time once setup() has
    turned on torch's deterministic CPU kernels (without them they differ run to run)."""
    # the demo's CTL: 1280 channels, enough work per kernel for two threads to share it
    cfg = build_cfg(os.path.join(ROOT, "configs", "Demo", "CTL_Synthetic.yml"),
                    ["MODEL.HEADS.NUM_CLASSES", "4", "MODEL.BACKBONE.PRETRAIN", "False"])
    g = torch.Generator().manual_seed(0)
    b, t, h, w = 4, 6, 128, 64
    xy = torch.rand(b, t, 17, 2, generator=g) * torch.tensor([w - 1.0, h - 1.0])
    batch = {"images": torch.rand(b, t, 3, h, w, generator=g) * 255,
             "targets": torch.arange(b // 2).repeat_interleave(2), "camids": torch.zeros(b, dtype=torch.long),
             "keypoints": torch.cat([xy, 0.3 + 0.7 * torch.rand(b, t, 17, 1, generator=g)], -1)}
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(2)
    try:
        use_deterministic_cpu_kernels(cfg)
        assert torch.are_deterministic_algorithms_enabled()
        first = ctl_gradients(cfg, batch)
        for _ in range(3):
            assert torch.equal(ctl_gradients(cfg, batch), first)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=True)


def test_setup_turns_on_the_deterministic_cpu_kernels(mars_root):
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)
    try:
        engine.setup(parse(mars_root / "out"))
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(deterministic, warn_only=True)
