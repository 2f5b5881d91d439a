"""Key-points of tracked people, estimated on a context crop from the full frame.

A pose estimator's own person detector finds people far more often when they stand in
some of their surroundings than in a tight crop upscaled to the re-ID size: on the 86
hand-checked people of vtest.avi (about 35 x 85 pixels), mediapipe's BlazePose found a pose
in 45 % of tight 256 x 128 crops and in 98 % of crops twice the person box's width and
height (`python bench/pose_coverage.py`). The key-points are then mapped into the pixels of
the person's re-ID crop, the frame the key-point cache describes.
"""
import cv2
import numpy as np

from ..io import read_frame
from ..keypoints.cache import no_pose_share, write_cache
from .tracklet_writer import crop

# Width and height of the context crop, in multiples of the person box's.
CONTEXT = 2.0


def context_box(box, factor=CONTEXT):
    """The box scaled about its centre by `factor`, or by (width factor, height factor)."""
    fx, fy = (factor, factor) if np.isscalar(factor) else factor
    x1, y1, x2, y2 = (float(v) for v in box)
    cx, cy, hw, hh = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) * fx / 2, (y2 - y1) * fy / 2
    return np.array([cx - hw, cy - hh, cx + hw, cy + hh], np.float32)


class ContextKeypoints:
    """(BGR frame, person box) -> COCO-17 key-points [17, 3] in the pixels of the box's crop
    resized to `size` (H, W), estimated by `estimator` (`estimate(RGB frames) -> [n, 17, 3]`)
    on the context crop (`context_box(box, factor)`), at the frame's own resolution or
    resized to `input_size` (H, W). Key-points are clipped to the crop; a crop without a
    pose gets zeros (confidence 0)."""

    def __init__(self, estimator, size, factor=CONTEXT, input_size=None):
        self.estimator = estimator
        self.size = tuple(size)
        self.factor = factor
        self.input_size = input_size

    def unclipped(self, frame, box):
        """The key-points in the crop's pixels, those outside the crop left where they are."""
        region = context_box(box, self.factor)
        height, width = self.input_size or (max(round(float(region[3] - region[1])), 1),
                                            max(round(float(region[2] - region[0])), 1))
        image = cv2.cvtColor(crop(frame, region, (height, width)), cv2.COLOR_BGR2RGB)
        keypoints = np.array(self.estimator.estimate([image])[0], np.float32)
        scale = np.array([(region[2] - region[0]) / width, (region[3] - region[1]) / height], np.float32)
        in_frame = region[:2] + keypoints[:, :2] * scale
        box = np.asarray(box, np.float32)
        out_h, out_w = self.size
        keypoints[:, :2] = (in_frame - box[:2]) * np.array([out_w, out_h]) / (box[2:] - box[:2])
        keypoints[keypoints[:, 2] <= 0] = 0
        return keypoints

    def __call__(self, frame, box):
        keypoints = self.unclipped(frame, box)
        keypoints[:, :2] = keypoints[:, :2].clip(0, [self.size[1] - 1, self.size[0] - 1])
        return keypoints


def write_split_cache(frame_list, crop_keypoints, estimator, cache_dir, dataset_name):
    """The key-point cache of a split's frame list, from the key-points estimated in context
    while its crops were written ({path relative to the list's root: [17, 3]},
    `read_crop_keypoints`); frames without them (tracklets added by other means) are
    estimated on their crops. Returns (cache path, share of frames without a pose)."""
    keypoints = np.zeros((len(frame_list), 17, 3), np.float32)
    for i, rel in enumerate(frame_list.relpaths):
        if rel in crop_keypoints:
            keypoints[i] = crop_keypoints[rel]
        else:
            keypoints[i] = estimator.estimate([read_frame(frame_list.path(i))])[0]
    path = write_cache(cache_dir, dataset_name, frame_list, keypoints, estimator.name, estimator.weights_sha256)
    return path, no_pose_share(keypoints)
