"""Linking detections into tracklets with DeepSORT (Wojke et al., ICIP 2017), as the
deep-sort-realtime package implements it, on appearance embeddings given by the caller.

Each detection step, deep-sort-realtime predicts every track with its Kalman filter, matches
confirmed tracks to detections by the cosine distance of their embeddings to the track's
recent ones (at most `nn_budget`), gated by the filter's Mahalanobis distance, most recently
seen tracks first, and then the rest by IoU. A new track is tentative until it has been
matched `n_init` times in a row, and is dropped if it misses one before; a confirmed track
is deleted after `max_age` steps without a match. Ages count detection steps, not frames.

Every match is recorded with the detector's own box; frames between two of a track's
detections get interpolated boxes (`Track.dense`), so tracklets cover consecutive frames.
"""
import numpy as np
from deep_sort_realtime.deepsort_tracker import DeepSort

from .track import Track, keep_tracklets, to_ltwh


class DeepSortTracker:
    """Feed `update(frame, boxes, scores, embeddings)` once per detection step, in frame
    order, then `finish()` for the confirmed tracklets spanning at least `min_length` frames.

    `max_cosine_distance` 0.1 suits the ImageNet MobileNetV2's embeddings on vtest.avi;
    DeepSORT's own 0.2, made for its trained re-ID network, chains people in similar clothes.
    """

    def __init__(self, max_age=30, n_init=3, max_cosine_distance=0.1, max_iou_distance=0.7, nn_budget=100,
                 min_length=8):
        if max_age < 1 or n_init < 1 or not 0 < max_cosine_distance <= 2 or not 0 < max_iou_distance <= 1 \
                or nn_budget < 1 or min_length < 1:
            raise ValueError(f"DeepSORT tracker: need max_age, n_init, nn_budget, min_length >= 1, "
                             f"0 < max_cosine_distance <= 2, 0 < max_iou_distance <= 1; got max_age={max_age}, "
                             f"n_init={n_init}, max_cosine_distance={max_cosine_distance}, "
                             f"max_iou_distance={max_iou_distance}, nn_budget={nn_budget}, min_length={min_length}")
        self.deepsort = DeepSort(max_age=max_age, n_init=n_init, max_cosine_distance=max_cosine_distance,
                                 max_iou_distance=max_iou_distance, nn_budget=nn_budget, embedder=None)
        self.min_length = min_length
        self.records = {}       # deep-sort-realtime's track id -> Track
        self.confirmed = set()  # ids of the tracks that were ever confirmed
        self.last_frame = -1

    def update(self, frame, boxes, scores, embeddings):
        """boxes [n, 4] x1 y1 x2 y2, scores [n], embeddings [n, D] (L2-normalised or not)."""
        if frame <= self.last_frame:
            raise ValueError(f"DeepSORT tracker: frame {frame} after frame {self.last_frame}; frames must increase")
        self.last_frame = frame
        ltwh = to_ltwh(boxes)
        scores = np.asarray(scores, np.float64).reshape(-1)
        embeddings = np.asarray(embeddings, np.float32)
        if not len(ltwh) == len(scores) == len(embeddings):
            raise ValueError(f"DeepSORT tracker: {len(ltwh)} boxes, {len(scores)} scores and "
                             f"{len(embeddings)} embeddings at frame {frame}")
        keep = (ltwh[:, 2] > 0) & (ltwh[:, 3] > 0)  # the library drops empty boxes, not their embeddings
        detections = [(box.tolist(), score, "person") for box, score in zip(ltwh[keep], scores[keep])]
        for track in self.deepsort.update_tracks(detections, embeds=list(embeddings[keep])):
            if track.time_since_update == 0:  # matched (or started) at this step
                record = self.records.setdefault(track.track_id, Track(int(track.track_id)))
                record.add(frame, track.to_ltrb(orig=True), track.det_conf)
            if track.is_confirmed():
                self.confirmed.add(track.track_id)

    def finish(self):
        """Every tracklet that was ever confirmed and spans at least `min_length` frames,
        by first frame then id."""
        return keep_tracklets([t for k, t in self.records.items() if k in self.confirmed], self.min_length)
