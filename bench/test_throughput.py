"""Is the test path as fast as the model? Frames/s of `--eval-only`'s inference beside the
model's forward alone and the loader alone, per video model.

Writes a synthetic MARS-layout set (JPEG frames, the generator's ground-truth key-point
cache) into a temporary data root, builds each model with random heads (VideoBaseline
and CTL: `configs/Demo/*_Synthetic.yml`, the ImageNet MobileNetV2 at 128 x 64; GRL and
STMN: their base configs on ResNet --resnet-depth, random weights, same frames; VideoBaseline's
and CTL's test clips of --frames frames, default 6, the paper's T, where the demo uses 4), then
times, after one untimed pass of every stage (oneDNN builds its kernels for each new batch
shape on first use), interleaved over --rounds rounds (the stages' order rotating each round):

    eval path      `VideoTrainer.test`: dataset and loader built, every tracklet through
                   the model, fast-reid's evaluator (what `--eval-only` runs after loading
                   the weights)
    loader         the same test loader alone: decoding, clip assembly, key-point rows
    forward        the model alone on the loader's batches, kept in memory
    forward, one chunk   the same with VIDEO.TEST.MAX_CLIPS_PER_BATCH 0 (every clip of a
                   batch in one forward): what bounding test memory costs
    onnxruntime    the model exported by `ctl_plugin.deploy` (tools/deploy/export_onnx.py), in
                   onnxruntime on the CPU with --threads threads, on the same batches' clips
                   (skipped with --no-onnx)

Frames/s count the tracklets' frames (each once, whatever the clips' padding); "x forward"
is the forward's time over the stage's, so the eval path reaches 1.0 when nothing outside
the network costs time. The forward's FLOPs (torch's counter, every batch once) give each
model's FLOP ratio to VideoBaseline beside its eval path's time ratio.

    python bench/test_throughput.py                               # VideoBaseline and CTL
    python bench/test_throughput.py --models VideoBaseline CTL GRL STMN --test-ids 16
"""
import argparse
import logging
import os
import statistics
import tempfile
import time

from ctl_plugin.config import build_cfg
from ctl_plugin.data.build import build_video_test_loader
from ctl_plugin.data.synthetic import generate_synthetic_mars
from ctl_plugin.deploy import OnnxEncoder, export_onnx
from ctl_plugin.engine import VideoTrainer

import torch
from tabulate import tabulate
from torch.utils.flop_counter import FlopCounterMode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "configs", "Demo")
CONFIGS = {
    "VideoBaseline": os.path.join(DEMO, "Baseline_Synthetic.yml"),
    "CTL": os.path.join(DEMO, "CTL_Synthetic.yml"),
    "GRL": os.path.join(ROOT, "projects", "GRL", "configs", "Base-GRL.yml"),
    "STMN": os.path.join(ROOT, "projects", "STMN", "configs", "Base-STMN.yml"),
}
STAGES = ("eval path", "loader", "forward", "forward, one chunk", "onnxruntime")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", choices=sorted(CONFIGS), default=["VideoBaseline", "CTL"])
    p.add_argument("--test-ids", type=int, default=8, help="test identities of the synthetic set (default 8)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--size", type=int, nargs=2, default=[128, 64], metavar=("H", "W"),
                   help="frame height and width, of the data and INPUT.SIZE_TEST (default: the demo's 128 64)")
    p.add_argument("--frames", type=int, default=6,
                   help="VideoBaseline's and CTL's VIDEO.TEST.SEQ_LEN (default 6, the paper's T)")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--workers", type=int, default=None, help="VIDEO.TEST.NUM_WORKERS (default: the config's)")
    p.add_argument("--resnet-depth", default="18x", choices=["18x", "50x"], help="GRL's and STMN's backbone")
    p.add_argument("--no-onnx", dest="onnx", action="store_false", help="skip the onnxruntime stage")
    return p.parse_args(argv)


def model_cfg(name, args):
    cfg = build_cfg(CONFIGS[name])
    opts = ["MODEL.DEVICE", "cpu", "MODEL.HEADS.NUM_CLASSES", 2, "DATASETS.TESTS", ("SyntheticMARS",),
            "INPUT.SIZE_TEST", list(args.size), "INPUT.SIZE_TRAIN", list(args.size)]
    if name in ("VideoBaseline", "CTL"):
        opts += ["VIDEO.TEST.SEQ_LEN", args.frames]
    if name in ("GRL", "STMN"):  # the demo's frames and batches, their own model on a ResNet
        demo = build_cfg(CONFIGS["VideoBaseline"])
        opts += ["MODEL.BACKBONE.DEPTH", args.resnet_depth, "MODEL.BACKBONE.PRETRAIN", False,
                 "MODEL.BACKBONE.FEAT_DIM", 512 if args.resnet_depth == "18x" else 2048,
                 "TEST.IMS_PER_BATCH", demo.TEST.IMS_PER_BATCH,
                 "VIDEO.TEST.NUM_WORKERS", demo.VIDEO.TEST.NUM_WORKERS]
    if args.workers is not None:
        opts += ["VIDEO.TEST.NUM_WORKERS", args.workers]
    cfg.merge_from_list(opts)
    return cfg


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class Subject:
    """One model and the callables that time its stages."""

    def __init__(self, name, args, folder):
        self.name, self.cfg = name, model_cfg(name, args)
        self.model = VideoTrainer.build_model(self.cfg).eval()
        one_chunk = self.cfg.clone()
        one_chunk.merge_from_list(["VIDEO.TEST.MAX_CLIPS_PER_BATCH", 0])
        self.one_chunk = VideoTrainer.build_model(one_chunk).eval()
        self.one_chunk.load_state_dict(self.model.state_dict())
        loader, _ = build_video_test_loader(self.cfg, "SyntheticMARS")
        self.batches = list(loader)
        self.frames = sum(len(span) for span, _, _ in loader.dataset.img_items)
        self.clips = sum(int(b["num_clips"].sum()) for b in self.batches)
        counter = FlopCounterMode(display=False)
        with counter:
            self.stage("forward")()
        self.gflop = counter.get_total_flops() / 1e9
        self.stages = STAGES if args.onnx else STAGES[:-1]
        if args.onnx:
            path = os.path.join(folder, f"{name}.onnx")
            export_onnx(self.cfg, self.model, path)
            self.onnx = OnnxEncoder(path, threads=args.threads)

    def stage(self, stage):
        if stage == "eval path":
            return lambda: VideoTrainer.test(self.cfg, self.model)
        if stage == "loader":
            return lambda: sum(1 for _ in build_video_test_loader(self.cfg, "SyntheticMARS")[0])
        if stage == "onnxruntime":  # the graph's inputs: clips, then key-points where it takes them
            keys = ("images", "keypoints")[:len(self.onnx.input_names)]
            return lambda: [self.onnx(*(b[k] for k in keys)) for b in self.batches]
        model = self.model if stage == "forward" else self.one_chunk

        def forward():
            with torch.no_grad():
                for batch in self.batches:
                    model(batch)
        return forward


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    for name in ("fastreid", "ctl_plugin"):
        logging.getLogger(name).setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as root:
        summary = generate_synthetic_mars(root, num_train_ids=2, num_test_ids=args.test_ids,
                                          frame_size=tuple(args.size))
        os.environ["FASTREID_DATASETS"] = root
        subjects = [Subject(name, args, root) for name in args.models]
        times = {(s.name, st): [] for s in subjects for st in s.stages}
        for s in subjects:
            for stage in s.stages:
                s.stage(stage)()
        for r in range(args.rounds):
            for s in subjects:
                for k in range(len(s.stages)):
                    stage = s.stages[(k + r) % len(s.stages)]
                    times[s.name, stage].append(timed(s.stage(stage)))
            print(f"round {r + 1}/{args.rounds} done", flush=True)
    rows = []
    for s in subjects:
        forward = min(times[s.name, "forward"])
        for stage in s.stages:
            t = times[s.name, stage]
            rows.append([s.name, stage, min(t), statistics.median(t), s.frames / min(t), forward / min(t),
                         statistics.median(times[s.name, "forward"]) / statistics.median(t)])
    base = next((s for s in subjects if s.name == "VideoBaseline"), None)
    print(f"threads {args.threads}, CPU cores {os.cpu_count()}, {summary.num_test_tracklets} test tracklets, "
          f"{subjects[0].frames} frames, {args.rounds} interleaved rounds; forward: "
          + ", ".join(f"{s.name} {s.clips} clips {s.gflop:.1f} GFLOP" for s in subjects))
    print(tabulate(rows, headers=["model", "stage", "s (min)", "s (median)", "frames/s (min)",
                                  "x forward (min)", "x forward (median)"],
                   floatfmt=("", "", ".3f", ".3f", ".1f", ".2f", ".2f")))
    if base is not None:
        print("eval path against VideoBaseline's (min): " + ", ".join(
            f"{s.name} {min(times[s.name, 'eval path']) / min(times[base.name, 'eval path']):.2f} x "
            f"(FLOPs {s.gflop / base.gflop:.2f} x)" for s in subjects))


if __name__ == "__main__":
    main()
