"""ONNX export of a video model's test feature, in the manner of fast-reid's `tools/deploy`.

The exported graph maps
    clips      float [N, T, 3, H, W], RGB 0-255 at INPUT.SIZE_TEST, as the test loader gives them
    keypoints  float [N, T, 17, 3] (x, y in input pixels, confidence), with KEYPOINTS.SOURCE "cache"
to `features` [N, D], one per clip; a tracklet's feature is the mean over its clips, as at test
(`VIDEO.TEST.MODE` says how a tracklet is cut into clips). N is a dynamic axis; T is one where
torch.export proves the model independent of it (VideoBaseline and CTL), and is fixed at
VIDEO.TEST.SEQ_LEN otherwise (GRL and STMN build modules for that many frames). The program of
torch.export goes to ONNX through `torch.onnx.export`, with the graph head's products in plain
`linear`, which ONNX has.
"""
import numpy as np
import torch
from torch import nn

from ..config import ConfigError
from ..modeling.graph.onednn_linear import onednn_products

INPUT_NAMES = ("clips", "keypoints")


class ClipEncoder(nn.Module):
    """A video model's test feature of each clip: `forward(clips[, keypoints])` -> [N, D]."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.eval()

    def forward(self, clips, keypoints=None):
        batch = {"images": clips} if keypoints is None else {"images": clips, "keypoints": keypoints}
        return self.model.video_head(self.model.clip_feature_maps(batch), batch)


def uses_keypoints(cfg):
    """Whether the exported graph takes key-points; an online estimator is not exported."""
    if cfg.KEYPOINTS.SOURCE == "online":
        raise ConfigError("KEYPOINTS.SOURCE is 'online': the key-point estimator is not exported. Export with "
                          "KEYPOINTS.SOURCE cache; the graph then takes the key-points as its 'keypoints' input "
                          "(tools/extract_keypoints.py writes them)")
    return cfg.KEYPOINTS.SOURCE == "cache"


def example_inputs(cfg, num_clips=2, num_frames=None, seed=0):
    """Random inputs of the exported graph's shapes: (clips,) or (clips, keypoints)."""
    g = torch.Generator().manual_seed(seed)
    t = num_frames or cfg.VIDEO.TEST.SEQ_LEN
    h, w = cfg.INPUT.SIZE_TEST
    clips = torch.rand(num_clips, t, 3, h, w, generator=g) * 255
    if not uses_keypoints(cfg):
        return (clips,)
    xy = torch.rand(num_clips, t, 17, 2, generator=g) * torch.tensor([float(w), float(h)])
    return clips, torch.cat([xy, torch.rand(num_clips, t, 17, 1, generator=g)], -1)


def exported_program(encoder, inputs):
    """torch.export's program of `encoder` with a dynamic clip axis, and a dynamic frame axis
    unless tracing shows that the model fixes it: torch.export then refuses the dynamic axis
    (a violated constraint, raised as a ValueError or as dynamo's UserError)."""
    dynamic = torch.export.Dim.DYNAMIC
    try:
        return torch.export.export(encoder, inputs, dynamic_shapes=tuple({0: dynamic, 1: dynamic} for _ in inputs),
                                   strict=False)
    except (ValueError, torch._dynamo.exc.UserError):
        return torch.export.export(encoder, inputs, dynamic_shapes=tuple({0: dynamic} for _ in inputs), strict=False)


def export_onnx(cfg, model, path):
    """Write `model`'s ClipEncoder to `path` (ONNX); returns {input name: shape}, each dynamic
    axis named ("clips", "frames")."""
    inputs = example_inputs(cfg)
    with torch.no_grad(), onednn_products(False):
        program = torch.onnx.export(exported_program(ClipEncoder(model), inputs), dynamo=True, verbose=False,
                                    input_names=list(INPUT_NAMES[:len(inputs)]), output_names=["features"])
    program.save(path)
    shapes = {}
    for value in program.model.graph.inputs:
        dims = [d if isinstance(d, int) else str(d) for d in value.shape.dims]
        shapes[value.name] = [("clips", "frames")[i] if isinstance(d, str) else d for i, d in enumerate(dims)]
    return shapes


class OnnxEncoder:
    """An exported graph in onnxruntime (CPU): `encoder(clips[, keypoints])` -> features [N, D]
    (numpy), inputs as tensors in the graph's order; `threads` 0 lets onnxruntime choose."""

    def __init__(self, path, threads=0):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]

    def __call__(self, *inputs):
        feed = {name: np.ascontiguousarray(x.numpy()) for name, x in zip(self.input_names, inputs)}
        return self.session.run(None, feed)[0]
