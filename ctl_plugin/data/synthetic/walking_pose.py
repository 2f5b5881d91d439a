"""A walking pedestrian's 17 COCO key-points in 3-D, and their projection to a frame.

Body coordinates (in units of standing height): `l` towards the person's left,
`u` up from the ground, `f` forwards. World coordinates: `X` image-right, `Y` up,
`Z` towards the camera. A person at yaw `theta` faces (sin theta, 0, cos theta):
yaw 0 faces the camera, pi/2 walks to the image right, pi walks away.
"""
from dataclasses import dataclass

import numpy as np

# Fixed joints (l, u, f) before the gait moves the limbs.
SHOULDER = np.array([0.115, 0.815, 0.0])
HIP = np.array([0.075, 0.52, 0.0])
HEAD_CENTRE = np.array([0.0, 0.925, 0.0])
HEAD_RADIUS = 0.068
FACE = {  # key-point index -> (l, u, f) on the head
    0: (0.0, 0.915, 0.064),
    1: (0.026, 0.94, 0.056), 2: (-0.026, 0.94, 0.056),
    3: (0.058, 0.93, -0.004), 4: (-0.058, 0.93, -0.004),
}
UPPER_ARM, FOREARM, THIGH, SHANK = 0.165, 0.15, 0.245, 0.24
# Torso as a box (half width at shoulders / hips, half depth) for drawing and self-occlusion.
TORSO_HALF_DEPTH = 0.065


@dataclass(frozen=True)
class Gait:
    """Swing amplitudes in radians; `bob` in units of height."""
    hip: float = 0.38
    knee: float = 0.62
    arm: float = 0.34
    bob: float = 0.012


def _limb(start, angle, length, outward=0.0):
    """Point `length` from `start`, swung `angle` forwards from straight down (l, u, f)."""
    return start + length * np.array([outward, -np.cos(angle), np.sin(angle)])


def body_keypoints(phase, gait=Gait()):
    """[17, 3] key-points (l, u, f) of a walker at gait `phase` (radians; one cycle = 2 pi)."""
    kp = np.zeros((17, 3))
    for i, p in FACE.items():
        kp[i] = p
    for sign in (1.0, -1.0):  # left, right
        s = np.sin(phase) * sign            # > 0 while this leg swings forwards
        c = np.cos(phase) * sign
        shoulder = SHOULDER * [sign, 1, 1]
        hip = HIP * [sign, 1, 1]
        arm = -gait.arm * s                   # arms swing against the leg of their side
        elbow = _limb(shoulder, arm, UPPER_ARM, outward=0.12 * sign)
        wrist = _limb(elbow, arm + 0.2 + 0.6 * max(arm, 0.0), FOREARM, outward=0.05 * sign)
        thigh = gait.hip * s
        knee = _limb(hip, thigh, THIGH)
        ankle = _limb(knee, thigh - 0.08 - gait.knee * max(c, 0.0), SHANK)
        i = 0 if sign > 0 else 1
        kp[5 + i], kp[7 + i], kp[9 + i] = shoulder, elbow, wrist
        kp[11 + i], kp[13 + i], kp[15 + i] = hip, knee, ankle
    kp[:, 1] += gait.bob * np.cos(2 * phase)
    return kp


def to_world(points, yaw):
    """Rotate body points [..., 3] (l, u, f) to world (X, Y, Z) for a person at `yaw`."""
    left, up, front = points[..., 0], points[..., 1], points[..., 2]
    c, s = np.cos(yaw), np.sin(yaw)
    return np.stack([left * c + front * s, up, -left * s + front * c], axis=-1)


def project(world, height_px, foot_x, ground_y):
    """Orthographic projection: (x, y) frame pixels [..., 2] and depth Z [...]."""
    xy = np.stack([foot_x + height_px * world[..., 0], ground_y - height_px * world[..., 1]], -1)
    return xy, world[..., 2]


def torso_box(keypoints_body):
    """[8, 3] corners (l, u, f) of the torso box spanned by the shoulders and hips."""
    corners = []
    for joint in (5, 6, 11, 12):
        for depth in (-TORSO_HALF_DEPTH, TORSO_HALF_DEPTH):
            corners.append(keypoints_body[joint] + [0.022 * np.sign(keypoints_body[joint, 0]), 0, depth])
    return np.array(corners)
