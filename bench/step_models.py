"""The training-step benchmarks' models and batch: shared by train_step.py (time, memory,
FLOPs), step_profile.py (where a step's time goes, by operator) and ctl_breakdown.py (CTL
component by component).

Every model is its shipped config (configs/*.yml, projects/*/configs/*.yml) with random
weights, at the benchmark's shape and backbone; the batch is random frames with plausible
key-points. The official GRL and STMN (bench/official.py) run on the same frames.
"""
import argparse
import contextlib
import os
import time

from ctl_plugin.config import build_cfg

import official
import torch
from fastreid.modeling.meta_arch import build_model
from fastreid.utils.events import EventStorage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name -> (YAML file relative to the repository root, extra KEY VALUE overrides)
MODELS = {
    "VideoBaseline": ("configs/Baseline_MARS.yml", []),
    "CTL-cache": ("configs/CTL_MARS.yml", ["KEYPOINTS.SOURCE", "cache"]),
    "CTL-online": ("configs/CTL_MARS.yml", ["KEYPOINTS.SOURCE", "online", "KEYPOINTS.MMPOSE.CHECKPOINT", "random"]),
    "GRL": ("projects/GRL/configs/GRL_MARS.yml", []),
    "STMN": ("projects/STMN/configs/STMN_MARS.yml", []),
}
# official model -> (the plugin's model it is compared with, its checkout argument)
OFFICIAL = {"GRL-official": ("GRL", "official_grl"), "STMN-official": ("STMN", "official_stmn")}


# --backbones -> (label, MODEL.BACKBONE overrides); the ResNet's DEPTH and FEAT_DIM come from --depth.
BACKBONES = {
    "resnet": ("ResNet", []),
    "mobilenetv2": ("MobileNetV2", ["MODEL.BACKBONE.NAME", "build_torchvision_mobilenetv2_backbone",
                                    "MODEL.BACKBONE.DEPTH", "1.0x", "MODEL.BACKBONE.FEAT_DIM", 1280,
                                    "MODEL.BACKBONE.LAST_STRIDE", 1]),
}


def batch_arguments(description):
    """An argument parser with the flags of the batch, the models' shape and the clock."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paper-shape", action="store_true",
                        help="8 ids x 4 clips x 6 frames x 256 x 128 with ResNet-50 (overrides the shape flags)")
    parser.add_argument("--official-shape", action="store_true",
                        help="ResNet-50 at 256 x 128, the shape of the official GRL and STMN "
                             "(identities, clips and frames are kept)")
    parser.add_argument("--ids", type=int, default=2, help="identities per batch (default 2)")
    parser.add_argument("--clips", type=int, default=2, help="clips per identity (default 2)")
    parser.add_argument("--frames", type=int, default=6, help="frames per clip (default 6)")
    parser.add_argument("--height", type=int, default=128, help="frame height (default 128)")
    parser.add_argument("--width", type=int, default=64, help="frame width (default 64)")
    parser.add_argument("--depth", default="18x", choices=["18x", "34x", "50x", "101x"],
                        help="ResNet depth (default 18x)")
    parser.add_argument("--backbones", nargs="+", default=["resnet"], choices=list(BACKBONES),
                        help="fast-reid's ResNet of --depth (default) and/or the plugin's MobileNetV2 "
                             "(width 1.0x, last stride 1), side by side")
    parser.add_argument("--official-grl", metavar="PATH", default=None,
                        help="checkout of flysnowtiger/GRL: its training step beside GRL's")
    parser.add_argument("--official-stmn", metavar="PATH", default=None,
                        help="checkout of cvlab-yonsei/STMN: its training step beside STMN's")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per model (default 2)")
    parser.add_argument("--iters", type=int, default=5, help="timed steps per model (default 5)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--amp", action="store_true", help="autocast to float16 (CUDA)")
    parser.add_argument("--channels-last", action="store_true", help="model and frames in channels-last layout")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads (default: torch's)")
    parser.add_argument("--clock", choices=["wall", "process"], default="wall",
                        help="wall: elapsed time; process: CPU time of this process, all threads (on "
                             "cores shared with other jobs, with --threads 1, it leaves out the time "
                             "the process waits for a core) (default wall)")
    return parser


def parse_batch_arguments(parser, argv=None, min_iters=1):
    """Parse, apply --paper-shape / --official-shape and --threads, and refuse what cannot run."""
    args = parser.parse_args(argv)
    if args.paper_shape:
        args.ids, args.clips, args.frames, args.height, args.width, args.depth = 8, 4, 6, 256, 128, "50x"
    if args.official_shape:
        args.height, args.width, args.depth = 256, 128, "50x"
    if (args.official_grl or args.official_stmn) and (args.height, args.width, args.depth) != (256, 128, "50x"):
        parser.error("the official GRL and STMN are ResNet-50s for 256 x 128 frames: add --official-shape")
    if (args.official_grl or args.official_stmn) and args.backbones != ["resnet"]:
        parser.error("the official GRL and STMN are ResNet-50s: leave --backbones at resnet")
    if args.clock == "process" and args.device.startswith("cuda"):
        parser.error("--clock process times the CPU only: use the wall clock on CUDA")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device")
    if args.iters < min_iters:
        parser.error(f"--iters must be >= {min_iters}")
    if args.clips < 2:
        parser.error("--clips must be >= 2: the batch-hard triplet loss needs a positive per identity")
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


def describe(args):
    """One line: device, threads, backbones and batch."""
    backbones = " and ".join(f"ResNet-{args.depth[:-1]}" if bb == "resnet" else "MobileNetV2 1.0x (last stride 1)"
                             for bb in args.backbones)
    frames = args.ids * args.clips * args.frames
    return (f"device {args.device}, threads {torch.get_num_threads()}, {backbones}, batch {args.ids} ids x "
            f"{args.clips} clips x {args.frames} frames x {args.height} x {args.width} ({frames} frames), "
            f"amp {args.amp}, channels-last {args.channels_last}, {args.clock} clock")


def label(name, backbone, args):
    """A model's row name: its name, and its backbone when several are benchmarked."""
    return name if len(args.backbones) == 1 else f"{name}, {BACKBONES[backbone][0]}"


def build_models(names, args):
    """{row name: (name, backbone, model)} for each of `names` on each of --backbones, then the
    official models whose checkouts are given; random weights drawn from seed 0."""
    entries = [(name, bb) for bb in args.backbones for name in names]
    entries += [(name, "resnet") for name, (_, arg) in OFFICIAL.items() if getattr(args, arg)]
    torch.manual_seed(0)
    return {label(name, bb, args): (name, bb, build(name, args, bb)) for name, bb in entries}


def warm_models(names, args):
    """(models, batches): `build_models`, each model's batch (`make_batch`, seed 0), and
    --warmup untimed steps of each."""
    models = build_models(names, args)
    batch = make_batch(args)
    batches = {key: batch_for(name, batch) for key, (name, _, _) in models.items()}
    for _ in range(args.warmup):
        for key, (_, _, model) in models.items():
            step(model, batches[key], args)
    return models, batches


def bench_cfg(name, backbone, args):
    """The method's YAML merged into fast-reid's cfg, with this benchmark's device, shape and backbone."""
    yaml, opts = MODELS[name]
    cfg = build_cfg(os.path.join(ROOT, yaml), opts)
    feat_dim = 512 if args.depth in ("18x", "34x") else 2048
    cfg.merge_from_list([
        "MODEL.DEVICE", args.device,
        "MODEL.BACKBONE.PRETRAIN", False,
        "MODEL.BACKBONE.DEPTH", args.depth,
        "MODEL.BACKBONE.FEAT_DIM", feat_dim,
        "MODEL.HEADS.NUM_CLASSES", args.ids,
        "INPUT.SIZE_TRAIN", [args.height, args.width],
        "INPUT.SIZE_TEST", [args.height, args.width],
        "VIDEO.TRAIN.SEQ_LEN", args.frames,
        "VIDEO.TEST.SEQ_LEN", args.frames,
        *BACKBONES[backbone][1],
    ])
    return cfg


def make_batch(args, seed=0):
    """Random frames (0-255; channels-last with --channels-last), ids 0..ids-1 each `clips`
    times, and plausible key-points: a standing person's COCO-17 layout jittered by a few
    pixels, confidence in [0.3, 1]."""
    g = torch.Generator().manual_seed(seed)
    b, t, h, w = args.ids * args.clips, args.frames, args.height, args.width
    # (x, y) of the COCO-17 joints as fractions of the frame: nose, eyes, ears,
    # shoulders, elbows, wrists, hips, knees, ankles.
    layout = torch.tensor([
        [.50, .08], [.46, .06], [.54, .06], [.42, .08], [.58, .08],
        [.35, .22], [.65, .22], [.30, .38], [.70, .38], [.28, .52], [.72, .52],
        [.40, .55], [.60, .55], [.40, .75], [.60, .75], [.40, .94], [.60, .94]])
    xy = layout * torch.tensor([w, h]) + torch.randn(b, t, 17, 2, generator=g) * (0.03 * w)
    xy = torch.minimum(xy.clamp(min=0), torch.tensor([w - 1.0, h - 1.0]))
    conf = 0.3 + 0.7 * torch.rand(b, t, 17, 1, generator=g)
    device = torch.device(args.device)
    images = (torch.rand(b, t, 3, h, w, generator=g) * 255).to(device)
    return {
        "images": images.contiguous(memory_format=torch.channels_last_3d) if args.channels_last else images,
        "targets": torch.arange(args.ids).repeat_interleave(args.clips).to(device),
        "camids": torch.zeros(b, dtype=torch.long, device=device),
        "keypoints": torch.cat([xy, conf], dim=-1).to(device),
    }


def build(name, args, backbone="resnet"):
    if name in OFFICIAL:
        return build_official(name, args)
    cfg = bench_cfg(name, backbone, args)
    model = build_model(cfg).train()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def build_official(name, args):
    """The official model of `name` (bench/official.py), its loss on (normalised frames, targets)."""
    checkout = getattr(args, OFFICIAL[name][1])
    if name == "GRL-official":
        model = official.OfficialGRL(checkout, args.ids, args.device)
    else:
        model = official.OfficialSTMN(checkout, args.ids, args.frames, args.device)
    model.train()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


class OfficialBatch(dict):
    """The batch of an official model: the frames normalised (the plugin's models normalise
    0-255 frames themselves, with the same ImageNet mean and std) and the targets."""

    def __init__(self, batch):
        images = batch["images"]
        mean = torch.tensor([0.485, 0.456, 0.406], device=images.device).view(-1, 1, 1) * 255
        std = torch.tensor([0.229, 0.224, 0.225], device=images.device).view(-1, 1, 1) * 255
        super().__init__(images=(images - mean) / std, targets=batch["targets"])


def batch_for(name, batch):
    return OfficialBatch(batch) if name in OFFICIAL else batch


def sync(args):
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()


def step(model, batch, args):
    """One forward + backward -> (forward s, backward s); synchronised on CUDA so the wall
    clock covers the kernels."""
    autocast = (torch.autocast(device_type="cuda", dtype=torch.float16) if args.amp
                else contextlib.nullcontext())
    clock = time.process_time if args.clock == "process" else time.perf_counter
    start = clock()
    with EventStorage(), autocast:
        if isinstance(batch, OfficialBatch):
            loss = model(batch["images"], batch["targets"])
        else:
            loss = sum(model(batch).values())
    sync(args)
    middle = clock()
    loss.backward()
    model.zero_grad(set_to_none=True)
    sync(args)
    return middle - start, clock() - middle
