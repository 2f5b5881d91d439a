"""Two gloo CPU processes train one model and evaluate every tracklet exactly once."""
import os

from ctl_plugin import engine
from ctl_plugin.engine import launch
from ctl_plugin.evaluation import VideoReidEvaluator

import torch
from fastreid.utils import comm

from tests.fixtures import video_datasets
from tests.test_train_net import parse


class RecordingEvaluator(VideoReidEvaluator):
    """Writes what rank 0 gathered, in order, before evaluating it."""

    def evaluate(self):
        predictions = comm.gather(self._predictions, dst=0)
        if comm.is_main_process():
            pids = torch.cat([p["pids"] for rank in predictions for p in rank])
            torch.save(pids, os.path.join(self._output_dir, "gathered_pids.pt"))
        return super().evaluate()


class RecordingTrainer(engine.VideoTrainer):
    @classmethod
    def build_evaluator(cls, cfg, dataset_name, output_dir=None):
        loader, num_query = cls.build_test_loader(cfg, dataset_name)
        return loader, RecordingEvaluator(cfg, num_query, cfg.OUTPUT_DIR)


def train_two_ranks(args):
    cfg = engine.setup(args)
    trainer = RecordingTrainer(cfg)
    initial = {k: v.detach().clone() for k, v in trainer.model.module.named_parameters() if v.requires_grad}
    results = trainer.train()
    rank = comm.get_rank()
    torch.save(initial, os.path.join(cfg.OUTPUT_DIR, f"initial_rank{rank}.pt"))
    torch.save({k: v.detach() for k, v in trainer.model.module.named_parameters() if v.requires_grad},
               os.path.join(cfg.OUTPUT_DIR, f"weights_rank{rank}.pt"))
    torch.save({k: v.detach() for k, v in trainer.model.module.named_buffers()},
               os.path.join(cfg.OUTPUT_DIR, f"buffers_rank{rank}.pt"))
    if rank == 0:
        torch.save({k: float(v) for k, v in results.items() if k != "dataset"},
                   os.path.join(cfg.OUTPUT_DIR, "reported.pt"))
    assert comm.get_world_size() == 2


def test_two_gloo_processes_end_with_identical_weights(tmp_path, monkeypatch):
    data = tmp_path / "data"
    video_datasets.make_mars(str(data))
    monkeypatch.setenv("FASTREID_DATASETS", str(data))
    out = tmp_path / "out"
    args = parse(out, "SOLVER.IMS_PER_BATCH", "8", "SOLVER.MAX_EPOCH", "4", "TEST.EVAL_PERIOD", "4",
                 "SOLVER.CHECKPOINT_PERIOD", "4")
    launch(train_two_ranks, 2, args=(args,))
    w0 = torch.load(out / "weights_rank0.pt")
    w1 = torch.load(out / "weights_rank1.pt")
    assert w0.keys() == w1.keys()
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    initial = torch.load(out / "initial_rank0.pt")
    trained = [k for k in w0 if not torch.equal(w0[k], initial[k])]
    assert len(trained) == len(w0)  # every trainable parameter was updated
    # one set of BatchNorm statistics: the reported metrics are those of the saved model
    b0, b1 = torch.load(out / "buffers_rank0.pt"), torch.load(out / "buffers_rank1.pt")
    assert all(torch.equal(b0[k], b1[k]) for k in b0)
    alone = parse(tmp_path / "alone", "MODEL.WEIGHTS", str(out / "model_final.pth"))
    alone.eval_only = True
    saved = engine.main(alone)
    reported = torch.load(out / "reported.pt")
    for key in ("Rank-1", "Rank-5", "mAP", "mINP"):
        assert abs(reported[key] - saved[key]) < 1e-4, (key, reported, saved)
    gathered = torch.load(out / "gathered_pids.pt")
    loader, num_query = engine.VideoTrainer.build_test_loader(engine.setup(parse(tmp_path / "o3")), "MARS")
    expected = torch.tensor([item[1] for item in loader.dataset.img_items])
    assert torch.equal(gathered, expected)  # every tracklet once, in order


def test_fastreid_still_reads_the_local_process_group_the_cpu_launch_sets():
    """`engine.launch.set_local_process_group` writes fast-reid's private `_LOCAL_PROCESS_GROUP`;
    this fails if fast-reid stops reading it there."""
    import inspect

    from fastreid.utils import comm

    assert hasattr(comm, "_LOCAL_PROCESS_GROUP")
    for reader in (comm.get_local_rank, comm.get_local_size):
        assert "_LOCAL_PROCESS_GROUP" in inspect.getsource(reader)
