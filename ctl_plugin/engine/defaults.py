"""What `train_net.py` runs: `setup(args)` builds and freezes the cfg, `main(args)` trains
and evaluates (or only evaluates with --eval-only), each with fast-reid's own machinery;
`build_test_model(cfg)`, the model every inference tool runs."""
import logging
import os

import torch
from fastreid.engine import default_setup
from fastreid.utils import comm
from fastreid.utils.env import seed_all_rng
from fastreid.utils.logger import setup_logger

from ..config import ConfigError, build_cfg
from ..config_checks import check_config
from ..io import ProcessLock
from .checkpoint import load_model_weights
from .trainer import VideoTrainer

logger = logging.getLogger(__name__)
_LOCKS = {}  # OUTPUT_DIR -> the ProcessLock this process holds on it


def resolve_seed(cfg, resume=False):
    """SEED, or for a negative SEED the one recorded by the run being resumed in
    OUTPUT_DIR/config.yaml, or else a fresh random one."""
    if cfg.SEED >= 0:
        return cfg.SEED
    saved = os.path.join(cfg.OUTPUT_DIR, "config.yaml")
    if resume and os.path.isfile(saved):
        seed = build_cfg(saved).SEED
        if seed >= 0:
            return seed
    return int.from_bytes(os.urandom(4), "little") >> 1


def lock_output_dir(output_dir):
    """Hold OUTPUT_DIR for this process's training: a second live training into it, whose
    checkpoints would mix with this one's, is refused."""
    if output_dir and comm.is_main_process() and output_dir not in _LOCKS:
        lock = ProcessLock(os.path.join(output_dir, ".train.lock"), "training (OUTPUT_DIR)")
        _LOCKS[output_dir] = lock.acquire()


def unlock_output_dir(output_dir):
    lock = _LOCKS.pop(output_dir, None)
    if lock is not None:
        lock.release()


def setup(args):
    """`build_cfg` from fast-reid's command-line arguments with SEED resolved and every key
    checked, frozen; OUTPUT_DIR locked for a training; then fast-reid's setup (output
    folder, logger, config dump) and every RNG seeded with SEED."""
    cfg = build_cfg(args.config_file, args.opts)
    cfg.SEED = resolve_seed(cfg, getattr(args, "resume", False))
    check_config(cfg)
    cfg.freeze()
    if not args.eval_only:
        lock_output_dir(cfg.OUTPUT_DIR)
    detach_fastreid_log_handlers()
    default_setup(cfg, args)  # seeds every RNG at random, then:
    seed_all_rng(cfg.SEED)
    logger.info(f"Seeded python, numpy and torch with SEED {cfg.SEED}")
    use_deterministic_cpu_kernels(cfg)
    return cfg


def detach_fastreid_log_handlers():
    """fast-reid's `setup_logger` adds a console and a file handler to its logger at every call
    with new arguments (a new OUTPUT_DIR), so a process that sets up several runs (the tests,
    the demo, the study) printed each line once per run set up so far, and wrote it into
    every earlier run's log.txt. Each `setup` starts from a logger without them."""
    logger = logging.getLogger("fastreid")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    setup_logger.cache_clear()


def use_deterministic_cpu_kernels(cfg):
    """On CPU, torch's deterministic kernels wherever one exists. Without them, CTL's
    gradients at 1280 channels on two threads differed in the last bits from one run to
    the next, so two trainings with one SEED drifted apart (the demo's CTL: mAP 19.3 and
    19.7). With one thread both give the same bits; CUDA is left to the user."""
    if cfg.MODEL.DEVICE == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)


def build_test_model(cfg):
    """The model of `cfg` in eval mode, restored strictly from MODEL.WEIGHTS (the backbone's
    ImageNet file is then not read). An empty MODEL.WEIGHTS evaluates the backbone's
    ImageNet weights (MODEL.BACKBONE.PRETRAIN) with untrained heads, as the log says;
    without PRETRAIN it is an error, never a randomly initialised model."""
    if not cfg.MODEL.WEIGHTS:
        if not cfg.MODEL.BACKBONE.PRETRAIN:
            raise ConfigError("MODEL.WEIGHTS is empty and MODEL.BACKBONE.PRETRAIN is False: the model would "
                              "be random. Give the weights of a trained model (MODEL.WEIGHTS "
                              "path/to/model_final.pth), or MODEL.BACKBONE.PRETRAIN True for ImageNet features")
        logger.warning(f"MODEL.WEIGHTS is empty: {cfg.MODEL.META_ARCHITECTURE} with the backbone's ImageNet "
                       f"weights and untrained heads")
        return VideoTrainer.build_model(cfg).eval()
    cfg = cfg.clone()
    cfg.defrost()
    cfg.MODEL.BACKBONE.PRETRAIN = False
    return load_model_weights(VideoTrainer.build_model(cfg), cfg).eval()


def main(args):
    """Train and evaluate as fast-reid's DefaultTrainer does; returns the last test results."""
    cfg = setup(args)
    if args.eval_only:
        return VideoTrainer.test(cfg, build_test_model(cfg))
    try:
        trainer = VideoTrainer(cfg)
        trainer.resume_or_load(resume=args.resume)
        return trainer.train()
    finally:
        unlock_output_dir(cfg.OUTPUT_DIR)
