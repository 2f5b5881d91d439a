"""One tracklet as a linker records it: its detections, and its boxes on every frame it spans."""
from dataclasses import dataclass, field

import numpy as np


def to_ltwh(boxes):
    """Boxes [n, 4] x1 y1 x2 y2 -> left top width height, the layout deep-sort-realtime reads."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)


@dataclass
class Track:
    """One tracklet: its detections, and its boxes on every frame it spans."""
    track_id: int
    frames: list = field(default_factory=list)   # frame indices of the detections, increasing
    boxes: list = field(default_factory=list)    # their boxes x1 y1 x2 y2
    scores: list = field(default_factory=list)   # their detector scores

    def add(self, frame, box, score):
        self.frames.append(int(frame))
        self.boxes.append(np.asarray(box, np.float32))
        self.scores.append(float(score))

    @property
    def first(self):
        return self.frames[0]

    @property
    def last(self):
        return self.frames[-1]

    def __len__(self):
        """Frames spanned, first to last detection."""
        return self.last - self.first + 1

    def dense(self):
        """(frames [L], boxes [L, 4], detected [L]): every frame from first to last, boxes
        between detections interpolated linearly."""
        frames = np.arange(self.first, self.last + 1)
        known = np.asarray(self.frames)
        boxes = np.stack(self.boxes)
        dense = np.stack([np.interp(frames, known, boxes[:, k]) for k in range(4)], axis=1)
        return frames, dense.astype(np.float32), np.isin(frames, known)


def keep_tracklets(tracks, min_length):
    """The tracks spanning at least `min_length` frames, by first frame then id."""
    return sorted((t for t in tracks if len(t) >= min_length), key=lambda t: (t.first, t.track_id))
