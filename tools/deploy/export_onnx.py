#!/usr/bin/env python
"""Export a trained video model's test feature to ONNX and check it against PyTorch.

    python tools/deploy/export_onnx.py --config-file configs/Demo/CTL_Synthetic.yml \
        --output logs/demo/ctl/model.onnx MODEL.WEIGHTS logs/demo/ctl/model_final.pth

The graph's inputs are `clips` [N, T, 3, H, W] (RGB, 0-255, at INPUT.SIZE_TEST) and, for
CTL with cached key-points, `keypoints` [N, T, 17, 3]; its output is `features` [N, D], one
per clip (a tracklet's feature is the mean of its clips'). `ctl_plugin.deploy` says which axes
are dynamic. The weights are restored strictly from MODEL.WEIGHTS, as for `--eval-only`. Then
onnxruntime and PyTorch run the same random clips (twice the export's clip count, and one
frame more where T is dynamic), and the largest difference of their features is printed;
above --tolerance (relative to the largest feature value) the command fails.
"""
import argparse
import os
import sys

from ctl_plugin.config import build_cfg
from ctl_plugin.deploy import ClipEncoder, OnnxEncoder, example_inputs, export_onnx
from ctl_plugin.engine import build_test_model

import numpy as np
import torch
from tabulate import tabulate


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config-file", required=True, metavar="FILE")
    p.add_argument("--output", required=True, metavar="FILE.onnx")
    p.add_argument("--tolerance", type=float, default=1e-4,
                   help="largest |onnxruntime - PyTorch| over the largest |feature| (default 1e-4)")
    p.add_argument("opts", nargs=argparse.REMAINDER, help="config KEY VALUE pairs, e.g. MODEL.WEIGHTS")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = build_cfg(args.config_file, args.opts)
    cfg.defrost()
    cfg.MODEL.DEVICE = "cpu"
    model = build_test_model(cfg)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    shapes = export_onnx(cfg, model, args.output)
    frames = cfg.VIDEO.TEST.SEQ_LEN + ("frames" in shapes["clips"])
    inputs = example_inputs(cfg, num_clips=4, num_frames=frames, seed=1)
    with torch.no_grad():
        ours = ClipEncoder(model)(*inputs).numpy()
    theirs = OnnxEncoder(args.output)(*inputs)
    diff = float(np.abs(theirs - ours).max())
    scale = float(np.abs(ours).max())
    print(tabulate([[name, " x ".join(map(str, shape))] for name, shape in shapes.items()],
                   headers=["input", "shape (named axes are dynamic)"]))
    print(f"wrote {args.output} ({os.path.getsize(args.output) / 2**20:.1f} MiB); onnxruntime against PyTorch "
          f"on {len(ours)} clips of {frames} frames: max |difference| {diff:.2e}, largest |feature| {scale:.2e}, "
          f"relative {diff / scale:.2e}")
    if not diff <= args.tolerance * scale:
        sys.exit(f"onnxruntime's features differ from PyTorch's by {diff / scale:.2e} of the largest feature, "
                 f"above --tolerance {args.tolerance}")


if __name__ == "__main__":
    main()
