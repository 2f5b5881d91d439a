"""Rendering one tracklet: frames and their ground-truth key-points.

Key-point confidence: 1 visible; 0.5 hidden by the walker's own body (the back
of the head, a limb behind the torso); 0 hidden by an occluder or outside the
frame (then x, y are clipped to the frame). Frames without a walker have all
key-points at (0, 0) with confidence 0.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import walking_pose as wp
from .figure import Outfit, draw_figure
from .scene import CameraStyle, apply_camera, make_occluder, render_background

KINDS = ("person", "junk", "distractor")
SELF_OCCLUDED_CONFIDENCE = 0.5
# Distance walked per radian of gait phase, in units of height.
STRIDE_PER_RADIAN = 0.057


@dataclass(frozen=True)
class TrackletSpec:
    """kind: "person" (a whole walker), "junk" (a badly cropped walker, pid -1) or
    "distractor" (background only, pid 0). Everything else random comes from `seed`."""
    kind: str
    length: int
    seed: int
    outfit: Optional[Outfit] = None
    occluded: bool = False


def _placement(rng, spec, style, frame_size):
    """(walker height px, foot x, ground y) of the tracklet."""
    height, width = frame_size
    height_px = height * rng.uniform(*style.scale)
    ground_y = height * (1.0 - rng.uniform(*style.ground_margin))
    foot_x = width / 2.0
    if spec.kind == "junk":
        height_px *= rng.uniform(1.4, 2.0)
        if rng.random() < 0.5:   # only the legs are in the frame
            ground_y = height * rng.uniform(0.85, 1.0)
        else:                     # only the upper body
            ground_y = height + rng.uniform(0.35, 0.5) * height_px
        foot_x += rng.uniform(-0.35, 0.35) * width
    return height_px, foot_x, ground_y


def render_tracklet(spec: TrackletSpec, style: CameraStyle, frame_size, draw_person=True):
    """Frames uint8 [n, H, W, 3] (BGR) and key-points float32 [n, 17, 3] (x, y, confidence).

    `draw_person=False` renders the same frames without the walker (same key-points)."""
    if spec.kind not in KINDS:
        raise ValueError(f"tracklet kind {spec.kind!r}; expected one of {KINDS}")
    if spec.kind != "distractor" and spec.outfit is None:
        raise ValueError(f"a '{spec.kind}' tracklet needs an outfit")
    height, width = frame_size
    rng = np.random.default_rng(spec.seed)
    yaw = style.yaws[rng.integers(len(style.yaws))] + rng.normal(0.0, 0.25)
    height_px, foot_x, ground_y = _placement(rng, spec, style, frame_size)
    phase0, phase_step = rng.uniform(0, 2 * np.pi), rng.uniform(0.45, 0.7)
    scroll = STRIDE_PER_RADIAN * height_px * phase_step * np.sin(yaw)
    travel = int(np.ceil(abs(scroll) * spec.length)) + 1
    background = render_background(rng, style, height, width + travel)
    brightness = rng.uniform(0.9, 1.1)
    occluder = make_occluder(rng, frame_size, spec.length, scroll) if spec.occluded else None

    frames = np.empty((spec.length, height, width, 3), np.uint8)
    keypoints = np.zeros((spec.length, 17, 3), np.float32)
    for t in range(spec.length):
        x0 = int(round(scroll * t)) if scroll >= 0 else travel + int(round(scroll * t))
        frame = background[:, x0:x0 + width].copy()
        jitter = rng.normal(0.0, 0.7, 2)
        if spec.kind != "distractor":
            canvas = frame if draw_person else frame.copy()
            xy, self_hidden = draw_figure(canvas, spec.outfit, wp.body_keypoints(phase0 + phase_step * t),
                                          yaw, height_px, foot_x + jitter[0], ground_y + jitter[1])
            confidence = np.where(self_hidden, SELF_OCCLUDED_CONFIDENCE, 1.0)
            outside = (xy[:, 0] < 0) | (xy[:, 0] > width - 1) | (xy[:, 1] < 0) | (xy[:, 1] > height - 1)
            confidence[outside] = 0.0
            if occluder is not None:
                confidence[occluder.covers(xy, t)] = 0.0
            keypoints[t, :, 0] = np.clip(xy[:, 0], 0, width - 1)
            keypoints[t, :, 1] = np.clip(xy[:, 1], 0, height - 1)
            keypoints[t, :, 2] = confidence
        if occluder is not None:
            occluder.draw(frame, t)
        frames[t] = apply_camera(frame, style, rng, brightness)
    return frames, keypoints
