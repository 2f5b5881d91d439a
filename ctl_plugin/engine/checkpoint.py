"""Checkpoints that restore exactly what was saved, or refuse.

`VideoCheckpointer` is fast-reid's Checkpointer with four differences:
- files are read with `torch.load(weights_only=True)`, whatever torch's default, so a
  checkpoint cannot run code;
- a model is restored strictly: missing, unexpected or reshaped keys are an error that
  lists them, unless MODEL.WEIGHTS_STRICT is False (empty classifiers of a model built
  for evaluation, MODEL.HEADS.NUM_CLASSES 0, take the checkpoint's number of ids);
- files are written atomically (a temporary file, then a rename), `last_checkpoint` too,
  so a kill never leaves a half-written checkpoint behind a valid tag;
- every checkpoint also holds the run's SEED and python's, numpy's and torch's RNG
  states, which `restore_rng_states` puts back when a run resumes.
"""
import os
import random
import shutil

import numpy as np
import torch
from fastreid.utils.checkpoint import Checkpointer

from ..config import ConfigError


class CheckpointMismatchError(RuntimeError):
    """A checkpoint does not fit the model it is loaded into."""


def rng_states():
    """python's, numpy's and torch's global RNG states, as tensors and plain values."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    return {"python": random.getstate(), "torch": torch.get_rng_state(),
            "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "gauss": float(gauss)}}


def restore_rng_states(states):
    """Undo `rng_states()`."""
    random.setstate(states["python"])
    torch.set_rng_state(states["torch"])
    n = states["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))


class CheckpointWriteError(OSError):
    """A checkpoint (or last_checkpoint) could not be written; the message names the file."""


def _atomic_write(path, write):
    """write(tmp) then rename onto `path`: a failed write leaves `path` as it was. A failure
    (torch reports a full disk as "RuntimeError: [enforce fail at inline_container.cc] ...
    unexpected pos") is a CheckpointWriteError naming the file, the error and the space left."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        write(tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as e:
        folder = os.path.dirname(os.path.abspath(path))
        try:
            free = f"{shutil.disk_usage(folder).free / 2 ** 20:.0f} MiB free on its file system"
        except OSError:
            free = "its file system cannot be read"
        raise CheckpointWriteError(f"writing '{path}' failed ({type(e).__name__}: {e}); {free}; "
                                   f"'{os.path.basename(path)}' is left as it was") from e
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class VideoCheckpointer(Checkpointer):
    """fast-reid's Checkpointer, strict, safe to load and atomic to write (see the module)."""

    def __init__(self, model, save_dir="", *, strict=True, extra_state=None, **kwargs):
        """strict: refuse a checkpoint whose keys differ from the model's.
        extra_state: a function returning more data for every saved checkpoint."""
        super().__init__(model, save_dir, **kwargs)
        self.strict = strict
        self.extra_state = extra_state

    def save(self, name, **kwargs):
        if not self.save_dir or not self.save_to_disk:
            return
        data = {"model": self.model.state_dict()}
        for key, obj in self.checkpointables.items():
            data[key] = obj.state_dict()
        data["rng_states"] = rng_states()
        if self.extra_state is not None:
            data.update(self.extra_state())
        data.update(kwargs)
        basename = f"{name}.pth"
        path = os.path.join(self.save_dir, basename)
        self.logger.info(f"Saving checkpoint to {path}")
        _atomic_write(path, lambda tmp: torch.save(data, tmp))
        self.tag_last_checkpoint(basename)
        return path

    def tag_last_checkpoint(self, last_filename_basename):
        def write(tmp):
            with open(tmp, "w") as f:
                f.write(last_filename_basename)
        _atomic_write(os.path.join(self.save_dir, "last_checkpoint"), write)

    def load(self, path, checkpointables=None):
        if path and not os.path.isfile(path):
            raise FileNotFoundError(f"checkpoint '{path}' is not a file (MODEL.WEIGHTS, or "
                                    f"last_checkpoint in '{self.save_dir}')")
        self._path = path
        return super().load(path, checkpointables)

    def _load_file(self, f):
        try:
            return torch.load(f, map_location=torch.device("cpu"), weights_only=True)
        except Exception as e:
            raise CheckpointMismatchError(
                f"'{f}' cannot be read as a weights-only checkpoint ({type(e).__name__}: {e}); "
                f"only tensors, numbers and containers of them are loaded") from e

    def _load_model(self, checkpoint):
        if "model" not in checkpoint:
            raise CheckpointMismatchError(f"'{self._path}' holds no 'model' state dict "
                                          f"(keys: {sorted(checkpoint)[:10]})")
        # A model built for evaluation has empty classifiers (MODEL.HEADS.NUM_CLASSES 0, the
        # number of training ids being unknown): they take the checkpoint's shape.
        own = self.model.state_dict(keep_vars=True)
        for key, value in checkpoint["model"].items():
            if key in own and own[key].numel() == 0 and own[key].dim() == value.dim():
                own[key].data = torch.empty(value.shape, dtype=own[key].dtype, device=own[key].device)
        incompatible = super()._load_model(checkpoint)
        problems = []
        if incompatible.missing_keys:
            problems.append(f"{len(incompatible.missing_keys)} missing: {_some(incompatible.missing_keys)}")
        if incompatible.unexpected_keys:
            problems.append(f"{len(incompatible.unexpected_keys)} unexpected: "
                            f"{_some(incompatible.unexpected_keys)}")
        if incompatible.incorrect_shapes:
            problems.append(f"{len(incompatible.incorrect_shapes)} of another shape: " + _some(
                [f"{k} {tuple(a)} in the file, {tuple(b)} in the model" for k, a, b in incompatible.incorrect_shapes]))
        if problems and self.strict:
            raise CheckpointMismatchError(
                f"'{self._path}' does not fit {type(self.model).__name__}: " + "; ".join(problems)
                + ". Is it a checkpoint of another model or config? Set MODEL.WEIGHTS_STRICT False "
                  "to load the matching keys only.")
        return incompatible


def _some(keys, limit=8):
    keys = list(keys)
    return ", ".join(keys[:limit]) + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


def load_model_weights(model, cfg):
    """Restore a model for evaluation from MODEL.WEIGHTS, strictly (MODEL.WEIGHTS_STRICT);
    an empty MODEL.WEIGHTS is an error, never a randomly initialised model."""
    if not cfg.MODEL.WEIGHTS:
        raise ConfigError("MODEL.WEIGHTS is empty: evaluating needs the weights of a trained model "
                         "(MODEL.WEIGHTS path/to/model_final.pth)")
    VideoCheckpointer(model, strict=cfg.MODEL.WEIGHTS_STRICT).load(cfg.MODEL.WEIGHTS)
    return model
