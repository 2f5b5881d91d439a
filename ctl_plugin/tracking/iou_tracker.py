"""Linking per-frame detections into tracklets by box overlap (IoU).

Each detection step matches the live tracks' last boxes to the new boxes by
maximum total IoU (Hungarian assignment); pairs below `min_iou` do not link.
An unmatched box starts a track; a track not matched for more than `max_gap`
frames ends. Frames between two detections of a track get linearly interpolated
boxes, so every tracklet covers consecutive frames.
"""
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment


def box_iou(a, b):
    """IoU [n, m] of boxes a [n, 4] and b [m, 4] (x1 y1 x2 y2)."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod((rb - lt).clip(min=0), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


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


class IouTracker:
    """Feed `update(frame, boxes, scores)` once per detection step, in frame order, then
    `finish()` for the tracklets spanning at least `min_length` frames."""

    def __init__(self, min_iou=0.3, max_gap=5, min_length=8):
        if not 0 < min_iou <= 1 or max_gap < 0 or min_length < 1:
            raise ValueError(f"IoU tracker: need 0 < min_iou <= 1, max_gap >= 0, min_length >= 1; got "
                             f"min_iou={min_iou}, max_gap={max_gap}, min_length={min_length}")
        self.min_iou, self.max_gap, self.min_length = min_iou, max_gap, min_length
        self.live, self.ended = [], []
        self.next_id = 0
        self.last_frame = -1

    def update(self, frame, boxes, scores):
        if frame <= self.last_frame:
            raise ValueError(f"IoU tracker: frame {frame} after frame {self.last_frame}; frames must increase")
        self.last_frame = frame
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        still = []
        for track in self.live:
            (self.ended if frame - track.last > self.max_gap + 1 else still).append(track)
        self.live = still
        matched = set()
        if self.live and len(boxes):
            iou = box_iou(np.stack([t.boxes[-1] for t in self.live]), boxes)
            rows, cols = linear_sum_assignment(-iou)
            for r, c in zip(rows, cols):
                if iou[r, c] >= self.min_iou:
                    self.live[r].add(frame, boxes[c], scores[c])
                    matched.add(c)
        for c in range(len(boxes)):
            if c not in matched:
                track = Track(self.next_id)
                track.add(frame, boxes[c], scores[c])
                self.live.append(track)
                self.next_id += 1

    def finish(self):
        """Every tracklet of at least `min_length` frames, by first frame then id."""
        tracks = self.ended + self.live
        self.ended, self.live = [], []
        kept = [t for t in tracks if len(t) >= self.min_length]
        return sorted(kept, key=lambda t: (t.first, t.track_id))
