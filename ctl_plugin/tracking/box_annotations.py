"""Hand-checked person boxes of a video's frames, and detections matched to them.

The file (e.g. tests/fixtures/vtest_person_boxes.json) holds, per annotated frame, the
boxes of whole, visible people, optionally their identities (`person_ids`), and `ignore`
regions (groups, people partly hidden or cut by the frame's edge) where a detection is
neither right nor wrong.
"""
import json

import numpy as np

from .track import to_ltwh


def _frames(path):
    with open(path) as f:
        return json.load(f).get("frames", {})


def _boxes(path, frames):
    out = {}
    for frame, entry in frames.items():
        try:
            people, ignore = (np.asarray(entry[k], np.float32).reshape(-1, 4) for k in ("person", "ignore"))
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{path}: frame {frame}: expected {{'person': [[x1, y1, x2, y2], ...], "
                             f"'ignore': [...]}} ({e})") from None
        if (people[:, 2:] <= people[:, :2]).any() or (ignore[:, 2:] <= ignore[:, :2]).any():
            raise ValueError(f"{path}: frame {frame}: a box with x2 <= x1 or y2 <= y1")
        out[int(frame)] = (people, ignore)
    if not out:
        raise ValueError(f"{path}: no annotated frame (expected a 'frames' object)")
    return out


def read_box_annotations(path):
    """{frame index: (people [n, 4], ignore [m, 4])}, boxes x1 y1 x2 y2 in frame pixels."""
    return _boxes(path, _frames(path))


def read_annotated_tracks(path):
    """The annotations as ground truth of tracks, frames 1-based as in MOTChallenge files:
    ({frame: (ids [n], boxes [n, 4] left top width height)}, {frame: ignore regions [m, 4]
    x1 y1 x2 y2}); every annotated frame is a key of both, with people or without."""
    entries = _frames(path)
    gt, ignore = {}, {}
    for frame, (people, regions) in _boxes(path, entries).items():
        ids = entries[str(frame)].get("person_ids")
        if ids is None or len(ids) != len(people) or len(set(ids)) != len(ids):
            raise ValueError(f"{path}: frame {frame}: expected 'person_ids', one distinct id per person box "
                             f"({len(people)}), got {ids!r}")
        gt[frame + 1] = (np.asarray(ids, np.int64), to_ltwh(people))
        ignore[frame + 1] = regions
    return gt, ignore


def covered_share(box, regions):
    """[m]: the share of each region's area that lies inside `box`."""
    lo, hi = np.maximum(regions[:, :2], box[:2]), np.minimum(regions[:, 2:], box[2:])
    inside = np.prod(np.clip(hi - lo, 0, None), axis=1)
    return inside / np.prod(regions[:, 2:] - regions[:, :2], axis=1)


def match_detections(boxes, people, ignore, min_share=0.5):
    """Each detection's annotation: the one with the largest share of its area inside the
    detection (ties: the nearest centre), if that share is at least `min_share`.

    Returns (matches {detection index: person index}, number on ignore regions, number of
    detections on nobody). A person may be matched by several detections.
    """
    regions = np.concatenate([people, ignore]).reshape(-1, 4)
    matches, ignored, missed = {}, 0, 0
    for i, box in enumerate(np.asarray(boxes, np.float32).reshape(-1, 4)):
        if not len(regions):
            missed += 1
            continue
        share = covered_share(box, regions)
        centre_gap = np.abs((regions[:, 0] + regions[:, 2]) - (box[0] + box[2])) / 2
        best = int(np.lexsort((centre_gap, -share))[0])
        if share[best] < min_share:
            missed += 1
        elif best >= len(people):
            ignored += 1
        else:
            matches[i] = best
    return matches, ignored, missed

