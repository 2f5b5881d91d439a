#!/usr/bin/env python
"""Train and evaluate video re-ID models with fast-reid's trainer and evaluator.

    python train_net.py --config-file configs/CTL_MARS.yml
    python train_net.py --config-file configs/CTL_MARS.yml --eval-only MODEL.WEIGHTS model_final.pth
    python train_net.py --config-file projects/GRL/configs/GRL_MARS.yml

`main` and `setup` live in `ctl_plugin.engine.defaults`, so tools and tests run the
same code; `launch` starts fast-reid's NCCL processes, or gloo CPU ones without CUDA.
"""
from ctl_plugin.engine import launch, main

from fastreid.engine import default_argument_parser

if __name__ == "__main__":
    args = default_argument_parser().parse_args()
    print("Command Line Args:", args)
    launch(main, args.num_gpus, num_machines=args.num_machines, machine_rank=args.machine_rank,
           dist_url=args.dist_url, args=(args,))
