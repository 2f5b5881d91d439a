"""Parameters and per-clip forward FLOPs of a plugin model (e.g. CTL vs VideoBaseline).

    python tools/model_stats.py --config-file configs/CTL_MARS.yml [KEY VALUE ...]
    python tools/model_stats.py --config-file configs/CTL_MARS.yml MODEL.META_ARCHITECTURE VideoBaseline

FLOPs are counted by torch.utils.flop_counter.FlopCounterMode (one multiply-add = 2 FLOPs)
on one test clip of VIDEO.TEST.SEQ_LEN frames at INPUT.SIZE_TEST.
"""
import argparse

from ctl_plugin.config import build_cfg

import torch
from fastreid.modeling.meta_arch import build_model
from torch.utils.flop_counter import FlopCounterMode


def model_stats(cfg):
    """{"params": trainable + frozen parameter count, "flops": forward FLOPs of one clip}."""
    cfg = cfg.clone()
    cfg.defrost()
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.BACKBONE.PRETRAIN = False
    cfg.MODEL.HEADS.NUM_CLASSES = max(cfg.MODEL.HEADS.NUM_CLASSES, 1)
    model = build_model(cfg).eval()
    t = cfg.VIDEO.TEST.SEQ_LEN
    h, w = cfg.INPUT.SIZE_TEST
    clip = {"images": torch.full((1, t, 3, h, w), 128.0),
            "keypoints": torch.tensor([w / 2, h / 2, 1.0]).expand(1, t, 17, 3).clone(),
            "num_clips": torch.tensor([1])}
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(clip)
    return {"params": sum(p.numel() for p in model.parameters()), "flops": counter.get_total_flops()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", required=True)
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE pairs overriding the config")
    args = parser.parse_args(argv)
    cfg = build_cfg(args.config_file, args.opts)
    stats = model_stats(cfg)
    print(f"{cfg.MODEL.META_ARCHITECTURE}: {stats['params'] / 1e6:.2f} M parameters, "
          f"{stats['flops'] / 1e9:.2f} GFLOPs per clip of {cfg.VIDEO.TEST.SEQ_LEN} x "
          f"{cfg.INPUT.SIZE_TEST[0]} x {cfg.INPUT.SIZE_TEST[1]}")


if __name__ == "__main__":
    main()
