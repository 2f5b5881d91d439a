"""COCO-17 key-points: order, flip pairs, physical links, and CTL's body partitions.

The CTL paper (Sec. 3.1, Fig. 3) uses 17 key-points (s1), 10 low-level parts
(s2) and 5 high-level parts (s3) but does not list the groups. This module fixes
one partition and derives everything else from it:

    10 parts: head {0-4}, torso {5,6,11,12}, L/R upper arm {7},{8},
              L/R forearm {9},{10}, L/R thigh {13},{14}, L/R shank {15},{16}
     5 parts: head, torso, arms (the four arm parts), thighs, shanks

The physical adjacency `A^p` at 17 nodes is the COCO skeleton (19 links); at 10
and 5 nodes it is the quotient of that skeleton under the partition.
"""
import numpy as np
import torch

NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
NUM_KEYPOINTS = 17

# Left/right pairs: a horizontal flip swaps them.
FLIP_PAIRS = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))
FLIP_INDEX = np.arange(NUM_KEYPOINTS)
for _a, _b in FLIP_PAIRS:
    FLIP_INDEX[_a], FLIP_INDEX[_b] = _b, _a

# COCO skeleton (mmpose `skeleton_info`), 19 links.
LINKS = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
    (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)

# s2: 10 low-level parts, as groups of key-points.
PARTS_10 = ((0, 1, 2, 3, 4), (5, 6, 11, 12), (7,), (8,), (9,), (10,), (13,), (14,), (15,), (16,))
PARTS_10_NAMES = ("head", "torso", "l_upper_arm", "r_upper_arm", "l_forearm", "r_forearm",
                  "l_thigh", "r_thigh", "l_shank", "r_shank")
# s3: 5 high-level parts, as groups of s2 parts.
PARTS_5_OF_10 = ((0,), (1,), (2, 3, 4, 5), (6, 7), (8, 9))
PARTS_5_NAMES = ("head", "torso", "arms", "thighs", "shanks")

SCALE_SIZES = {"s1": 17, "s2": 10, "s3": 5}


def assignment(groups, num_members):
    """Membership matrix M [num_members, len(groups)]: M[i, j] = 1 iff member i is in group j."""
    m = np.zeros((num_members, len(groups)), dtype=np.float32)
    for j, members in enumerate(groups):
        m[list(members), j] = 1.0
    if not np.all(m.sum(1) == 1):
        raise ValueError("groups must partition the members exactly once")
    return m


def keypoint_to_part(scale):
    """M [17, N_s]: which key-points make up each node of scale s ('s1', 's2' or 's3')."""
    m10 = assignment(PARTS_10, NUM_KEYPOINTS)
    if scale == "s1":
        return np.eye(NUM_KEYPOINTS, dtype=np.float32)
    if scale == "s2":
        return m10
    if scale == "s3":
        return m10 @ assignment(PARTS_5_OF_10, len(PARTS_10))
    raise KeyError(f"unknown scale {scale!r}; expected one of {sorted(SCALE_SIZES)}")


def pooling_matrix(scale):
    """P [N_s, 17]: part feature = mean of its key-point features (Sec. 3.1), V_s = P @ V_s1."""
    m = keypoint_to_part(scale)
    return (m / m.sum(0, keepdims=True)).T.copy()


def physical_adjacency(scale):
    """A^p [N_s, N_s] (0/1, symmetric, zero diagonal): the COCO skeleton at s1, its
    quotient under the partition at s2/s3 (parts linked iff a skeleton link joins them)."""
    a = np.zeros((NUM_KEYPOINTS, NUM_KEYPOINTS), dtype=np.float32)
    for i, j in LINKS:
        a[i, j] = a[j, i] = 1.0
    m = keypoint_to_part(scale)
    q = (m.T @ a @ m > 0).astype(np.float32)
    np.fill_diagonal(q, 0.0)
    return q


def flip_keypoints(keypoints, width):
    """Mirror key-points `[..., 17, 3]` (x, y, confidence) in an image `width` pixels
    wide: x -> width - 1 - x, and left/right key-points swap places."""
    index = torch.as_tensor(FLIP_INDEX) if torch.is_tensor(keypoints) else FLIP_INDEX
    out = keypoints[..., index, :]
    out = out.clone() if torch.is_tensor(out) else out.copy()
    out[..., 0] = (width - 1) - out[..., 0]
    return out
