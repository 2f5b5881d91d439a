"""Tracks scored against MOTChallenge ground truth with TrackEval's metrics: HOTA (mean over
its localisation thresholds), IDF1 (Identity), MOTA and ID switches (CLEAR).

MOTChallenge text files hold one box a row: `frame, id, left, top, width, height[, conf, ...]`
with 1-based frames. Ground-truth rows whose 7th column is 0 are "not to be considered"
(MOT16 and later) and are dropped; the tracker's 7th column is its confidence and is kept.
Boxes are matched by IoU, as TrackEval's MOTChallenge 2D box benchmark does; its extra
removal of tracker boxes matched to distractor classes (MOT17's classes 2-12) is not applied.

Ground truth annotated on some frames only, with ignore regions (box_annotations.py's
`read_annotated_tracks`), is scored on those frames, after the tracker's boxes that lie mostly
inside an ignore region (a group, a person cut by the frame's edge) are dropped.
"""
import numpy as np
from deep_sort_realtime.deep_sort.iou_matching import iou

from .box_annotations import covered_share
from .track import to_ltwh

METRICS = ("HOTA", "IDF1", "MOTA", "IDSW")


class MotFileError(ValueError):
    """A MOTChallenge file that cannot be read; the message names the file and the line."""


def read_mot(path, ground_truth=False):
    """{frame: (ids [n], boxes [n, 4] left top width height)} of a MOTChallenge file."""
    rows = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                values = [float(v) for v in line.replace(",", " ").split()]
            except ValueError:
                raise MotFileError(f"'{path}' line {number}: {line.strip()!r} is not numbers") from None
            if len(values) < 6:
                raise MotFileError(f"'{path}' line {number}: {line.strip()!r}; expected "
                                   f"'frame, id, left, top, width, height[, ...]'")
            if ground_truth and len(values) >= 7 and values[6] == 0:
                continue
            rows.append((int(values[0]), int(values[1]), values[2:6]))
    return by_frame(rows)


def by_frame(rows):
    """{frame: (ids [n], boxes [n, 4])} of (frame, id, box) rows."""
    frames = {}
    for frame, track_id, box in rows:
        frames.setdefault(frame, []).append((track_id, box))
    return {k: (np.array([i for i, _ in v]), np.array([b for _, b in v], np.float64).reshape(-1, 4))
            for k, v in frames.items()}


def tracks_as_mot(tracks, num_frames=None):
    """`read_mot`'s form of linker tracks (0-based frames -> 1-based), each on every frame it
    spans (`Track.dense`, the boxes its tracklet is cut with); frames past `num_frames` dropped."""
    return by_frame((int(frame) + 1, t.track_id, to_ltwh(box)[0]) for t in tracks
                    for frame, box in zip(*t.dense()[:2]) if num_frames is None or frame < num_frames)


def box_iou(a, b):
    """IoU [n, m] of boxes left top width height (deep-sort-realtime's `iou`, row by row, as
    the IoU linker uses it)."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    return np.stack([iou(box, b) for box in a]) if len(a) else np.zeros((0, len(b)))


def outside_ignored(tracks, ignore, min_share=0.5):
    """`tracks` (a `read_mot` result) without the boxes that have at least `min_share` of their
    area inside one of their frame's ignore regions ({frame: [m, 4] x1 y1 x2 y2})."""
    out = {}
    for frame, (ids, boxes) in tracks.items():
        corners = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
        inside = [covered_share(region, corners) for region in ignore.get(frame, [])]  # [m][n]
        keep = ~(np.array(inside) >= min_share).any(0) if inside else np.ones(len(ids), bool)
        out[frame] = (ids[keep], boxes[keep])
    return out


def sequence_data(gt, tracks, frames=None):
    """TrackEval's per-sequence input from two `read_mot` results (ids relabelled 0..n-1), one
    timestep per frame of `frames` (default: every frame from 1 to the last of either)."""
    frames = range(1, max([*gt, *tracks, 0]) + 1) if frames is None else sorted(frames)
    gt_ids = {v: k for k, v in enumerate(sorted({int(i) for t in frames for i in gt.get(t, [[]])[0]}))}
    tr_ids = {v: k for k, v in enumerate(sorted({int(i) for t in frames for i in tracks.get(t, [[]])[0]}))}
    empty = (np.zeros(0, int), np.zeros((0, 4)))
    data = {"num_timesteps": len(frames), "num_gt_ids": len(gt_ids), "num_tracker_ids": len(tr_ids),
            "gt_ids": [], "tracker_ids": [], "similarity_scores": [], "num_gt_dets": 0, "num_tracker_dets": 0}
    for t in frames:
        (g, gb), (r, rb) = gt.get(t, empty), tracks.get(t, empty)
        data["gt_ids"].append(np.array([gt_ids[int(i)] for i in g], int))
        data["tracker_ids"].append(np.array([tr_ids[int(i)] for i in r], int))
        data["similarity_scores"].append(box_iou(gb, rb))
        data["num_gt_dets"] += len(g)
        data["num_tracker_dets"] += len(r)
    return data


def mot_scores(gt, tracks, frames=None, ignore=None):
    """{"HOTA", "IDF1", "MOTA" (fractions), "IDSW" (a count)} of `tracks` against `gt`
    (`read_mot` results), computed by TrackEval on `frames` (default: all), after dropping the
    tracker's boxes on `ignore` regions (`outside_ignored`)."""
    from trackeval.metrics import CLEAR, HOTA, Identity

    if ignore is not None:
        tracks = outside_ignored(tracks, ignore)
    data, quiet = sequence_data(gt, tracks, frames), {"PRINT_CONFIG": False}
    hota = HOTA(quiet).eval_sequence(data)
    clear = CLEAR(quiet).eval_sequence(data)
    identity = Identity(quiet).eval_sequence(data)
    return {"HOTA": float(np.mean(hota["HOTA"])), "IDF1": float(identity["IDF1"]),
            "MOTA": float(clear["MOTA"]), "IDSW": int(clear["IDSW"])}
