"""Cameras: their backgrounds, occluders, viewing geometry and colour response.

Each camera has its own style: wall/floor colours and clutter palette, the
directions people walk in front of it, how large and how low they appear, a
colour cast, blur and noise. Backgrounds are wide panoramas that scroll past
as the crop follows a walker.
"""
from dataclasses import dataclass

import cv2
import numpy as np

from .figure import PALETTE

# Occluders move across the crop by at least this many pixels per frame.
MIN_OCCLUDER_SPEED = 1.5


@dataclass(frozen=True)
class CameraStyle:
    gains: tuple            # BGR multiplicative colour cast
    offset: tuple           # BGR additive cast
    wall: tuple             # BGR colour above the horizon
    floor: tuple            # BGR colour below the horizon
    clutter: tuple          # BGR colours of the background objects
    horizon: float          # horizon height, fraction of the frame from the top
    scale: tuple            # (min, max) walker height, fraction of the frame height
    ground_margin: tuple    # (min, max) gap under the feet, fraction of the frame height
    yaws: tuple             # walking directions (radians) seen by this camera
    blur: float             # Gaussian blur sigma in pixels (0: none)
    noise: float            # additive Gaussian noise sigma, grey levels


def _colour(rng, low=30, high=230):
    return tuple(int(c) for c in rng.integers(low, high, 3))


def make_camera_styles(rng, num_cameras):
    """One distinct style per camera; walking directions rotate between cameras."""
    direction_sets = ((np.pi / 2, -np.pi / 2), (0.0, np.pi), (np.pi / 4, -3 * np.pi / 4),
                      (-np.pi / 4, 3 * np.pi / 4), (np.pi / 2, np.pi), (0.0, -np.pi / 2))
    styles = []
    for cam in range(num_cameras):
        scale = rng.uniform(0.74, 0.88)
        margin = rng.uniform(0.01, 0.07)
        styles.append(CameraStyle(
            gains=tuple(float(g) for g in rng.uniform(0.78, 1.22, 3)),
            offset=tuple(float(o) for o in rng.uniform(-15, 15, 3)),
            wall=_colour(rng, 60, 210), floor=_colour(rng, 50, 170),
            clutter=tuple(_colour(rng) for _ in range(5)),
            horizon=float(rng.uniform(0.45, 0.72)),
            scale=(scale - 0.04, scale + 0.04), ground_margin=(margin, margin + 0.03),
            yaws=direction_sets[cam % len(direction_sets)],
            blur=float(rng.choice([0.0, 0.5, 0.8])), noise=float(rng.uniform(2.0, 6.0))))
    return styles


def render_background(rng, style, height, width):
    """A BGR uint8 panorama [height, width, 3]: wall, floor and clutter in the camera's style."""
    img = np.empty((height, width, 3), np.float32)
    horizon = int(style.horizon * height)
    ramp = np.linspace(0.85, 1.1, height, dtype=np.float32)[:, None, None]
    img[:horizon] = np.array(style.wall, np.float32) * ramp[:horizon]
    img[horizon:] = np.array(style.floor, np.float32) * ramp[horizon:][::-1]
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(max(2, width // 12)):  # windows, doors, shop fronts
        w, h = rng.integers(5, 20), rng.integers(6, max(8, horizon))
        x, y = rng.integers(-w // 2, width), rng.integers(0, max(1, horizon - h // 2))
        colour = style.clutter[rng.integers(len(style.clutter))]
        cv2.rectangle(img, (int(x), int(y)), (int(x + w), int(y + h)), colour, -1)
        if rng.random() < 0.5:
            inner = tuple(int(c * 0.6) for c in colour)
            cv2.rectangle(img, (int(x + 2), int(y + 2)), (int(x + w - 2), int(y + h // 2)), inner, -1)
    for _ in range(rng.integers(1, 4)):  # poles
        x = int(rng.integers(0, width))
        cv2.line(img, (x, 0), (x, int(horizon + rng.integers(0, height - horizon))),
                 style.clutter[rng.integers(len(style.clutter))], int(rng.integers(1, 4)))
    for _ in range(rng.integers(1, 4)):  # kerbs and floor markings
        y = int(rng.integers(horizon, height))
        cv2.line(img, (0, y), (width, y + int(rng.integers(-3, 4))),
                 tuple(int(c * 0.75) for c in style.floor), int(rng.integers(1, 3)))
    return img


@dataclass(frozen=True)
class Occluder:
    """A box in front of the walker that slides across the crop: x(t) = x + speed * t."""
    x: float
    speed: float
    width: float
    top: float
    bottom: float
    colour: tuple

    def box(self, t):
        x0 = self.x + self.speed * t
        return x0, self.top, x0 + self.width, self.bottom

    def draw(self, img, t):
        x0, y0, x1, y1 = (int(round(v)) for v in self.box(t))
        cv2.rectangle(img, (x0, y0), (x1, y1), self.colour, -1)
        cv2.rectangle(img, (x0, y0), (x1, y1), tuple(int(c * 0.6) for c in self.colour), 1)

    def covers(self, xy, t):
        """Mask [n] of the points xy [n, 2] inside the box at frame t."""
        x0, y0, x1, y1 = self.box(t)
        return (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)


def make_occluder(rng, frame_size, length, background_speed):
    """A bench/car (lower body), a pole or a passer-by (one side) that crosses the
    frame centre at a random frame of the tracklet."""
    height, width = frame_size
    kind = rng.integers(3)
    if kind == 0:
        w, top, bottom = rng.uniform(0.5, 0.9) * width, rng.uniform(0.55, 0.75) * height, height
    elif kind == 1:
        w, top, bottom = rng.uniform(0.1, 0.2) * width, 0.0, height
    else:
        w, top, bottom = rng.uniform(0.3, 0.45) * width, rng.uniform(0.1, 0.3) * height, height
    speed = -background_speed + rng.choice([-1, 1]) * rng.uniform(1.5, 4.0)
    if abs(speed) < MIN_OCCLUDER_SPEED:
        speed = float(np.copysign(MIN_OCCLUDER_SPEED, speed))
    crossing = rng.uniform(0, max(length - 1, 1))
    x = width / 2 - w / 2 - speed * crossing
    return Occluder(float(x), float(speed), float(w), float(top), float(bottom),
                    PALETTE[rng.integers(len(PALETTE))])


def apply_camera(img, style, rng, brightness=1.0):
    """Colour cast, blur and noise of the camera: BGR uint8 in, BGR uint8 out."""
    out = img.astype(np.float32) * (np.array(style.gains, np.float32) * brightness) + \
        np.array(style.offset, np.float32)
    if style.blur > 0:
        out = cv2.GaussianBlur(out, (0, 0), style.blur)
    out += style.noise * rng.standard_normal(out.shape, dtype=np.float32)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
