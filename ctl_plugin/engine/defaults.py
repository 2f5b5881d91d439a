"""What `train_net.py` runs: `setup(args)` builds and freezes the cfg, `main(args)` trains
and evaluates (or only evaluates with --eval-only), each with fast-reid's own machinery."""
from fastreid.engine import default_setup
from fastreid.utils.checkpoint import Checkpointer

from ..config import build_cfg
from .trainer import VideoTrainer


def setup(args):
    """`build_cfg` from fast-reid's command-line arguments, frozen, then fast-reid's setup
    (output folder, logger, config dump)."""
    cfg = build_cfg(args.config_file, args.opts)
    cfg.freeze()
    default_setup(cfg, args)
    return cfg


def main(args):
    """Train and evaluate as fast-reid's DefaultTrainer does; returns the last test results."""
    cfg = setup(args)
    if args.eval_only:
        cfg.defrost()
        cfg.MODEL.BACKBONE.PRETRAIN = False
        model = VideoTrainer.build_model(cfg)
        Checkpointer(model).load(cfg.MODEL.WEIGHTS)
        return VideoTrainer.test(cfg, model)
    trainer = VideoTrainer(cfg)
    trainer.resume_or_load(resume=args.resume)
    return trainer.train()
