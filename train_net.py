#!/usr/bin/env python
"""Train and evaluate video re-ID models with fast-reid's trainer and evaluator.

    python train_net.py --config-file configs/CTL_MARS.yml
    python train_net.py --config-file configs/CTL_MARS.yml --eval-only MODEL.WEIGHTS model_final.pth
    python train_net.py --config-file projects/GRL/configs/GRL_MARS.yml
"""
import ctl_plugin  # noqa: F401  (compat fixes, then registration; must come first)

from fastreid.config import get_cfg
from fastreid.engine import default_argument_parser, default_setup
from fastreid.utils.checkpoint import Checkpointer

from ctl_plugin import add_plugin_config
from ctl_plugin.engine import VideoTrainer, launch
from projects import add_project_configs


def build_cfg(config_file, opts=()):
    """fast-reid's cfg with the plugin's and the projects' nodes, merged with a YAML file
    (none: the defaults) and opts."""
    cfg = get_cfg()
    add_plugin_config(cfg)
    add_project_configs(cfg)
    if config_file:
        cfg.merge_from_file(config_file)
    cfg.merge_from_list(list(opts))
    return cfg


def setup(args):
    cfg = build_cfg(args.config_file, args.opts)
    cfg.freeze()
    default_setup(cfg, args)
    return cfg


def main(args):
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


if __name__ == "__main__":
    args = default_argument_parser().parse_args()
    print("Command Line Args:", args)
    launch(main, args.num_gpus, num_machines=args.num_machines, machine_rank=args.machine_rank,
           dist_url=args.dist_url, args=(args,))
