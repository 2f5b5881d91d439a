"""Linking per-frame detections into tracklets by box overlap (IoU) alone, the simple
alternative to DeepSORT (`deepsort_tracker.py`) kept for comparison.

Each detection step matches the live tracks' last boxes to the new boxes by minimum total
1 - IoU (deep-sort-realtime's `iou` and `min_cost_matching`); pairs below `min_iou` do not
link. An unmatched box starts a track; a track not matched for more than `max_gap` frames
ends.
"""
import numpy as np
from deep_sort_realtime.deep_sort.iou_matching import iou
from deep_sort_realtime.deep_sort.linear_assignment import min_cost_matching

from .track import Track, keep_tracklets, to_ltwh


def last_box_distance(tracks, boxes, track_indices, box_indices):
    """1 - IoU [len(track_indices), len(box_indices)] of the tracks' last boxes and the boxes."""
    candidates = to_ltwh(boxes[box_indices])
    return np.stack([1.0 - iou(to_ltwh(tracks[t].boxes[-1])[0], candidates) for t in track_indices])


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
        matches, _, unmatched = min_cost_matching(last_box_distance, 1.0 - self.min_iou, self.live, boxes,
                                                  list(range(len(self.live))), list(range(len(boxes))))
        for t, b in matches:
            self.live[t].add(frame, boxes[b], scores[b])
        for b in sorted(unmatched):
            track = Track(self.next_id)
            track.add(frame, boxes[b], scores[b])
            self.live.append(track)
            self.next_id += 1

    def finish(self):
        """Every tracklet of at least `min_length` frames, by first frame then id."""
        tracks = self.ended + self.live
        self.ended, self.live = [], []
        return keep_tracklets(tracks, self.min_length)
