"""What `train_net.py` runs: `setup(args)` builds and freezes the cfg, `main(args)` trains
and evaluates (or only evaluates with --eval-only), each with fast-reid's own machinery;
`build_test_model(cfg)`, the model every inference tool runs."""
import logging

from fastreid.engine import default_setup
from fastreid.utils.checkpoint import Checkpointer

from ..config import build_cfg
from .trainer import VideoTrainer

logger = logging.getLogger(__name__)


def setup(args):
    """`build_cfg` from fast-reid's command-line arguments, frozen, then fast-reid's setup
    (output folder, logger, config dump)."""
    cfg = build_cfg(args.config_file, args.opts)
    cfg.freeze()
    default_setup(cfg, args)
    return cfg


def build_test_model(cfg):
    """The model of `cfg` in eval mode, with the weights of MODEL.WEIGHTS (the backbone's
    ImageNet file is then not read) or, when it is empty, as built: the backbone's ImageNet
    weights when MODEL.BACKBONE.PRETRAIN, the rest untrained."""
    if not cfg.MODEL.WEIGHTS:
        logger.warning(f"MODEL.WEIGHTS is empty: {cfg.MODEL.META_ARCHITECTURE} with "
                       f"{'ImageNet' if cfg.MODEL.BACKBONE.PRETRAIN else 'random'} backbone weights, "
                       f"untrained heads")
        return VideoTrainer.build_model(cfg).eval()
    cfg = cfg.clone()
    cfg.defrost()
    cfg.MODEL.BACKBONE.PRETRAIN = False
    model = VideoTrainer.build_model(cfg)
    Checkpointer(model).load(cfg.MODEL.WEIGHTS)
    return model.eval()


def main(args):
    """Train and evaluate as fast-reid's DefaultTrainer does; returns the last test results."""
    cfg = setup(args)
    if args.eval_only:
        return VideoTrainer.test(cfg, build_test_model(cfg))
    trainer = VideoTrainer(cfg)
    trainer.resume_or_load(resume=args.resume)
    return trainer.train()
