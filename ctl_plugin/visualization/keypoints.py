"""Key-points drawn on frames: COCO-17 skeleton links and confidence-coloured points."""
import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib import colormaps
from PIL import Image, ImageDraw

from ..keypoints.skeleton import LINKS, NUM_KEYPOINTS

LINK_COLOUR = (255, 255, 255)


def confidence_colour(confidence, cmap="viridis"):
    """RGB of a confidence in [0, 1] (clipped) on a matplotlib colour map."""
    r, g, b, _ = colormaps[cmap](float(np.clip(confidence, 0.0, 1.0)))
    return int(round(255 * r)), int(round(255 * g)), int(round(255 * b))


def draw_keypoints(frame, keypoints, min_confidence=0.0, radius=2, scale=1):
    """Frame [h, w, 3] uint8 (enlarged `scale` times) with key-points [17, 3] (x, y in
    frame pixels, confidence): links of skeleton.LINKS between points whose
    confidence is at least `min_confidence`, then the points coloured by confidence."""
    keypoints = np.asarray(keypoints, dtype=np.float32)
    if keypoints.shape != (NUM_KEYPOINTS, 3):
        raise ValueError(f"key-points must have shape ({NUM_KEYPOINTS}, 3), got {keypoints.shape}")
    image = Image.fromarray(np.asarray(frame, dtype=np.uint8))
    if scale != 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    draw = ImageDraw.Draw(image)
    xy = (keypoints[:, :2] + 0.5) * scale - 0.5
    shown = keypoints[:, 2] >= min_confidence
    for i, j in LINKS:
        if shown[i] and shown[j]:
            draw.line([tuple(xy[i]), tuple(xy[j])], fill=LINK_COLOUR, width=max(1, scale // 2))
    for k in np.flatnonzero(shown):
        x, y = xy[k]
        draw.ellipse([x - radius, y - radius, x + radius, y + radius],
                     fill=confidence_colour(keypoints[k, 2]))
    return np.asarray(image)


def draw_keypoint_clip(frames, keypoints, **kwargs):
    """Frames of a clip side by side, each with its key-points [T, 17, 3] drawn."""
    if len(frames) != len(keypoints):
        raise ValueError(f"{len(frames)} frames but key-points for {len(keypoints)}")
    drawn = [draw_keypoints(f, k, **kwargs) for f, k in zip(frames, keypoints)]
    height = max(d.shape[0] for d in drawn)
    canvas = np.zeros((height, sum(d.shape[1] for d in drawn), 3), np.uint8)
    x = 0
    for d in drawn:
        canvas[:d.shape[0], x:x + d.shape[1]] = d
        x += d.shape[1]
    return canvas
