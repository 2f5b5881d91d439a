"""Trainer hooks: one set of BatchNorm statistics across ranks, and checkpoints written
before the evaluation they precede, so a failing evaluation loses no training.

fast-reid's order is evaluate, then checkpoint (its PeriodicCheckpointer needs the
metric for `model_best`); `VideoTrainer` replaces it by `EpochCheckpointer` before the
evaluation and `BestCheckpoint` after it.
"""
import os

import torch.distributed as dist
from fastreid.engine.train_loop import HookBase
from fastreid.utils import comm
from fastreid.utils.events import get_event_storage


def broadcast_buffers(model, src=0):
    """Copy rank `src`'s buffers (BatchNorm running statistics) to every rank. fast-reid's
    DDP runs with `broadcast_buffers=False`, so each rank's statistics drift apart."""
    if comm.get_world_size() == 1:
        return
    module = model.module if hasattr(model, "module") else model
    for buffer in module.buffers():
        dist.broadcast(buffer.data, src=src)


class SyncBuffers(HookBase):
    """After every epoch (before checkpointing and evaluation) every rank takes rank 0's
    buffers, so each rank extracts test features with the statistics that are saved."""

    def after_epoch(self):
        broadcast_buffers(self.trainer.model)


class EpochCheckpointer(HookBase):
    """Save `model_{epoch:04d}` every `period` epochs and `model_final` after the last one,
    before that epoch's evaluation runs (main process only)."""

    def __init__(self, checkpointer, period, max_epoch):
        self.checkpointer = checkpointer
        self.period = int(period)
        self.max_epoch = max_epoch
        self.saved = {}  # epoch -> path of its checkpoint

    def after_epoch(self):
        epoch = self.trainer.epoch
        if epoch >= self.max_epoch - 1:
            name = "model_final"
        elif self.period > 0 and (epoch + 1) % self.period == 0:
            name = f"model_{epoch:04d}"
        else:
            return
        self.saved[epoch] = self.checkpointer.save(name, epoch=epoch)


class BestCheckpoint(HookBase):
    """After an evaluation, `model_best` is the checkpoint of the epoch with the highest
    metric so far: a hard link to that epoch's checkpoint, or a new one."""

    def __init__(self, checkpointer, epoch_checkpointer, metric_name="metric"):
        self.checkpointer = checkpointer
        self.epochs = epoch_checkpointer
        self.metric_name = metric_name
        self.best = float("-inf")
        self.seen = -1

    def _update(self):
        latest = get_event_storage().latest()
        if self.metric_name not in latest:
            return
        value, iteration = latest[self.metric_name]
        if iteration == self.seen or value <= self.best:
            return
        self.seen, self.best = iteration, value
        epoch = self.trainer.epoch
        source = self.epochs.saved.get(epoch)
        if source is None:
            self.checkpointer.save("model_best", epoch=epoch, metric=value)
            return
        target = os.path.join(os.path.dirname(source), "model_best.pth")
        tmp = f"{target}.{os.getpid()}.tmp"
        os.link(source, tmp)
        os.replace(tmp, target)

    def after_epoch(self):
        self._update()

    def after_train(self):
        self._update()
